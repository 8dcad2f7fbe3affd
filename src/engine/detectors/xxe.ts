import type { Location } from '../../core/types.ts';
import type { PartRule, RequestRule } from '../types.ts';
import { scanDeclarations } from './lib/markup.ts';
import { clip } from './lib/text.ts';

/**
 * XML external entities and DTD abuse (CWE-611 XXE, CWE-776 entity expansion; OWASP XXE Prevention Cheat
 * Sheet). Declarations are found by a linear scanner ({@link scanDeclarations}) in XML bodies and in any
 * parameter (XML is often smuggled inside a JSON or form field that the application parses later).
 *
 * Rule ids (937xxx, unused by OWASP CRS; chosen for XXE):
 * - `937100` external or parameter entity declaration (`<!ENTITY x SYSTEM "file:///…">`, `<!ENTITY % p …>`),
 *   PL1, critical.
 * - `937110` any other `<!ENTITY` declaration (internal entities: expansion bombs, entity smuggling), PL1,
 *   critical — request payloads have no business declaring entities.
 * - `937120` external DTD (`<!DOCTYPE r SYSTEM "http://…">`), and XInclude, PL1, critical; a `PUBLIC` DTD
 *   whose root is not `html` (XHTML e-mail bodies legitimately carry the W3C `PUBLIC` doctype), PL2.
 * - `937130` the XML body facts from the engine's XML scanner (`BodyInfo.xmlExternalEntity`,
 *   `xmlEntities`), for bodies whose declarations sit outside any inspected part, PL1, critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-XXE', 'CWE-611', 'attack-xxe'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header'];

const entityRule: PartRule = {
  kind: 'part',
  id: '937100',
  name: 'xxe-external-or-parameter-entity',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'external-entity' || f.kind === 'parameter-entity') return clip(f.text);
    return null;
  },
};

const internalEntity: PartRule = {
  kind: 'part',
  id: '937110',
  name: 'xxe-entity-declaration',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-776'],
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'entity') return clip(f.text);
    return null;
  },
};

const dtd: PartRule = {
  kind: 'part',
  id: '937120',
  name: 'xxe-external-dtd-or-xinclude',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<:', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1 && input.indexOf('xi:include') === -1 && input.indexOf('xinclude') === -1) return null;
    for (const f of scanDeclarations(input)) {
      if (f.kind === 'external-dtd' || f.kind === 'xinclude') return clip(f.text);
    }
    return null;
  },
};

const publicDtd: PartRule = {
  kind: 'part',
  id: '937121',
  name: 'xxe-public-dtd-non-html',
  category: 'xxe',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!') === -1) return null;
    for (const f of scanDeclarations(input)) if (f.kind === 'public-dtd' && f.root !== 'html') return clip(f.text);
    return null;
  },
};

const bodyFacts: RequestRule = {
  kind: 'request',
  id: '937130',
  name: 'xxe-xml-body-declarations',
  category: 'xxe',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const b = scope.body;
    if (b === undefined || b.kind !== 'xml') return [];
    if (b.xmlExternalEntity) return [{ hit: 'XML body declares an external entity', loc: { kind: 'body' } }];
    if ((b.xmlEntities ?? 0) > 0) return [{ hit: `XML body declares ${b.xmlEntities} entities`, loc: { kind: 'body' } }];
    return [];
  },
  phase: 'body',
};

/** The XXE rules (ids and levels in the module comment). */
export const rules: readonly (PartRule | RequestRule)[] = [entityRule, internalEntity, dtd, publicDtd, bodyFacts];
