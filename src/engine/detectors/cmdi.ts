import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { clip, isWordChar, isDigit, isAlpha, lowerAscii, hexVal, NeedleSet, needsFrom } from './lib/text.ts';
import { base64DecodeIfPair, cmdLine } from '../transforms.ts';

/**
 * OS command injection (OWASP CRS REQUEST-932-APPLICATION-ATTACK-RCE, CWE-78) and PHP code injection
 * (REQUEST-933-APPLICATION-ATTACK-PHP, CWE-94), as a small shell tokenizer rather than a regex list:
 * the value is de-obfuscated ({@link shellNormalize}: `c''at`, `c\at`, `who^ami`, `$IFS`, `${IFS}`, brace
 * expansion `{cat,/etc/passwd}`, literal `\n`, ANSI-C `$'\x69\x64'`, variables assigned in the value
 * `a=i;b=d;$a$b`, unset variables inside a word `c${u}at`, `${PATH:0:1}` → `/`), then scanned for *command
 * positions* — after `;`, `|`, `&`, a newline, a backtick or `$(` — and the word there is looked up in a bounded list of Unix and Windows
 * commands ({@link COMMANDS}). Ambiguous English words (`type`, `more`, `set`, `sleep`) need an argument
 * that looks like a shell argument (`-x`, `/path`, `C:\`, `$VAR`, a number for `sleep`/`ping`).
 *
 * Rule ids:
 * - `932100` command after a shell separator (`;id`, `| cat /etc/passwd`, `&& dir`, `%0aid`), PL1, critical.
 * - `932110` command substitution (`` `id` ``, `$(whoami)`, also glued to a word: ``127.0.0.1`id` ``; a
 *   Markdown code span after a space needs a distinctive command), PL1, critical. `932100` also flags `$0` /
 *   `${!#}` (the shell itself) and a redirection to an absolute path (`;echo x>/var/www/x.php`).
 * - `932120` glob-obfuscated command path (`/???/??t /etc/passwd`, `/bin/c?t`), PL1, critical.
 * - `932130` Windows shell launchers and variables (`cmd /c`, `powershell -enc`, `%COMSPEC%`), PL1, critical;
 *   `932131` the same through caret/quote obfuscation (`c^md /c`), PL2.
 * - `932140` Shellshock function definition `() {` (CVE-2014-6271), PL1, critical.
 * - `932150` a value that *is* a command line with argument evidence (`cat /etc/hosts`, `nc -lvvp 4444`,
 *   `uname -a`, `whoami`), PL1, critical — the value starts at a command position when the app passes it to
 *   a shell.
 * - `932160` a value that starts with a known command word followed by any argument (`ping example`), PL2.
 * - `932170` `$IFS` / `${IFS}` used as a space after a word (`cat${IFS}/etc/passwd`), PL1, critical.
 * - `932190` redirection to bash `/dev/tcp/host/port` / `/dev/udp/…`, gawk `"/inet/tcp/…"` (reverse shells),
 *   PL1, critical.
 * - `932200` variable slicing that builds a word (`${PATH:0:1}etc`, `${PATH%%u*}`, cmd `%ProgramData:~0,1%`),
 *   PL1, critical.
 * - `932220` argument injection (CWE-88): a value starting with an option that runs a program
 *   (`-oProxyCommand=id`, `--upload-pack=…`, `-exec id ;`, `--checkpoint-action=exec=…`, `-e sh`) or that
 *   writes/reads a file given as a path (`-o /tmp/x`, `--output=/var/www/x.php`, `-d @/etc/passwd`), PL1,
 *   critical; `932221` any option with a value (`-n 5`, `--color=auto`), PL2, warning — CLI-minded fields
 *   (docker/CI argument lists) hold those legitimately.
 * - `933100` PHP code: `<?php`, superglobals (`$_GET[`), complex syntax `{${…}}` / `${@…}`, PL1, critical.
 * - `933110` PHP/Perl/Python execution functions with a call (`system('id')`, `shell_exec(`, `passthru(`,
 *   `phpinfo()`, `eval('…')`), PL1, critical.
 * - `933120` PHP serialized object (`O:8:"Example":1:{…}`, plain or base64) — object injection, PL1, critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-RCE', 'CWE-78', 'attack-rce'] as const;
const PHP_TAGS = ['OWASP_CRS/ATTACK-PHP', 'CWE-94', 'attack-injection-php'] as const;

/** Locations inspected: arguments, bodies, cookies, path and a few free-text headers. */
export const CMDI_TARGETS: readonly Location['kind'][] = [
  'query', 'form', 'json', 'cookie', 'multipart', 'filename', 'xml', 'body', 'path', 'header',
];

const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat', 'htmlEntityDecode']];

/**
 * Command words, with how much evidence each needs:
 * - `b` bare: a recon command that is meaningful with no argument (`id`, `whoami`, `ls`);
 * - `a` argument: needs an argument that looks like a shell argument (`cat /etc/passwd`, `ping -c 1`);
 * - `n` numeric-ok: like `a`, but a number also counts (`sleep 5`, `ping 10.0.0.1`).
 * Sources: GTFOBins, LOLBAS, OWASP CRS `unix-shell.data` / `windows-powershell-commands.data` (abridged).
 */
const COMMANDS: ReadonlyMap<string, 'b' | 'a' | 'n'> = new Map<string, 'b' | 'a' | 'n'>([
  // recon, meaningful bare
  ['id', 'b'], ['whoami', 'b'], ['uname', 'b'], ['ifconfig', 'b'], ['ipconfig', 'b'], ['netstat', 'b'],
  ['systeminfo', 'b'], ['sysinfo', 'b'], ['pwd', 'b'], ['ls', 'b'], ['dir', 'b'], ['hostname', 'b'],
  ['ps', 'b'], ['env', 'b'], ['printenv', 'b'], ['route', 'b'], ['arp', 'b'], ['tasklist', 'b'], ['ver', 'b'],
  ['getuid', 'b'], ['phpinfo', 'b'], ['w', 'b'], ['who', 'b'], ['lsof', 'b'], ['ss', 'b'],
  ['net', 'a'], ['reg', 'a'], ['netsh', 'a'], ['sc', 'a'], ['wmic', 'b'], ['qwinsta', 'b'],
  // need an argument
  ['cat', 'a'], ['tac', 'a'], ['more', 'a'], ['less', 'a'], ['head', 'a'], ['tail', 'a'], ['type', 'a'],
  ['echo', 'a'], ['printf', 'a'], ['print', 'a'], ['grep', 'a'], ['find', 'a'], ['awk', 'a'], ['sed', 'a'],
  ['cp', 'a'], ['mv', 'a'], ['rm', 'a'], ['del', 'a'], ['mkdir', 'a'], ['touch', 'a'], ['chmod', 'a'],
  ['chown', 'a'], ['ln', 'a'], ['tar', 'a'], ['zip', 'a'], ['unzip', 'a'], ['dd', 'a'], ['xxd', 'a'], ['od', 'a'],
  ['base64', 'a'], ['curl', 'a'], ['wget', 'a'], ['fetch', 'a'], ['tftp', 'a'], ['ftp', 'a'], ['scp', 'a'],
  ['ssh', 'a'], ['telnet', 'a'], ['nc', 'a'], ['ncat', 'a'], ['netcat', 'a'], ['socat', 'a'], ['nmap', 'a'],
  ['nslookup', 'a'], ['dig', 'a'], ['host', 'a'], ['bash', 'a'], ['sh', 'a'], ['zsh', 'a'], ['ksh', 'a'],
  ['csh', 'a'], ['dash', 'a'], ['tcsh', 'a'], ['perl', 'a'], ['python', 'a'], ['python2', 'a'], ['python3', 'a'],
  ['php', 'a'], ['ruby', 'a'], ['node', 'a'], ['lua', 'a'], ['java', 'a'], ['gcc', 'a'], ['cc', 'a'],
  ['powershell', 'a'], ['pwsh', 'a'], ['cmd', 'a'], ['certutil', 'a'], ['bitsadmin', 'a'], ['mshta', 'a'],
  ['rundll32', 'a'], ['regsvr32', 'a'], ['cscript', 'a'], ['wscript', 'a'], ['taskkill', 'a'],
  ['kill', 'a'], ['killall', 'a'], ['pkill', 'a'], ['crontab', 'a'], ['useradd', 'a'], ['usermod', 'a'],
  ['passwd', 'a'], ['sudo', 'a'], ['su', 'a'], ['nohup', 'a'], ['exec', 'a'], ['eval', 'a'], ['xargs', 'a'],
  ['mkfifo', 'a'], ['mknod', 'a'], ['which', 'a'], ['whereis', 'a'], ['locate', 'a'], ['export', 'a'],
  ['set', 'a'], ['setx', 'a'], ['start', 'a'], ['timeout', 'n'], ['sleep', 'n'], ['ping', 'n'], ['nping', 'n'],
  ['traceroute', 'a'], ['tracert', 'a'], ['chattr', 'a'], ['openssl', 'a'], ['systemctl', 'a'], ['service', 'a'],
  ['busybox', 'a'], ['toybox', 'a'], ['tee', 'a'], ['call', 'a'], ['rev', 'a'], ['schtasks', 'a'], ['msiexec', 'a'], ['forfiles', 'a'],
  // PowerShell cmdlets and aliases that run or fetch code
  ['iex', 'a'], ['invoke-expression', 'a'], ['iwr', 'a'], ['invoke-webrequest', 'a'], ['irm', 'a'], ['invoke-restmethod', 'a'],
  ['start-process', 'a'],
]);

/** Windows LOLBins (LOLBAS): not English words, so any argument after a separator is evidence (`rundll32 x,y`). */
const LOLBINS: ReadonlySet<string> = new Set([
  'rundll32', 'regsvr32', 'mshta', 'certutil', 'bitsadmin', 'cscript', 'wscript', 'schtasks', 'msiexec', 'forfiles', 'wmic',
]);

/** Recon commands whose bare name is distinctive enough to flag as a whole value or in backticks. */
const DISTINCT_BARE: ReadonlySet<string> = new Set([
  'whoami', 'uname', 'ifconfig', 'ipconfig', 'netstat', 'systeminfo', 'sysinfo', 'phpinfo', 'getuid', 'tasklist',
  'printenv', 'qwinsta', 'wmic',
]);

/**
 * Commands typical of injected command lines that are flagged when a value *starts* with them and has argument
 * evidence (`cat /etc/hosts`); interpreters and build tools (`java --version`) are left to paranoia 2 because
 * script fields legitimately hold them.
 */
const START_OK: ReadonlySet<string> = new Set([
  'cat', 'tac', 'ls', 'dir', 'type', 'nc', 'ncat', 'netcat', 'socat', 'wget', 'curl', 'ping', 'sleep', 'uname',
  'whoami', 'ifconfig', 'ipconfig', 'netstat', 'systeminfo', 'sysinfo', 'net', 'reg', 'netsh', 'bash', 'sh',
  'powershell', 'cmd', 'id', 'which', 'rm', 'chmod', 'nslookup', 'telnet', 'timeout', 'perl', 'python', 'python3',
  'certutil', 'bitsadmin', 'mkfifo', 'tftp', 'echo',
]);

/** Network tools whose host-name argument is evidence enough (`nslookup evil.example`). */
const NET_TOOLS: ReadonlySet<string> = new Set(['nslookup', 'dig', 'host', 'ping', 'nping', 'curl', 'wget', 'nc', 'ncat', 'netcat', 'telnet', 'ssh', 'ftp', 'tftp', 'traceroute', 'tracert', 'socat']);

/** Sub-commands that make `net`, `reg`, `netsh`, `sc` unambiguous (Windows administration). */
const WIN_SUBCOMMANDS: readonly string[] = [
  'user', 'localgroup', 'group', 'view', 'share', 'use', 'start', 'stop', 'session', 'accounts', 'config',
  'add', 'query', 'delete', 'export', 'import', 'save', 'firewall', 'advfirewall', 'interface', 'wlan', 'create',
];

/** A character {@link shellNormalize} acts on: `\\ $ ' " ^ { \``, tab, VT, FF, ESC (one class: linear). */
const SHELL_SYNTAX = /[\\$'"^{`\t\v\f\x1b]/;

/**
 * De-obfuscates a lower-cased shell fragment, linearly: ANSI terminal escapes removed; literal `\n`/`\r` →
 * newline; `$IFS`, `${IFS}`,
 * `$IFS$9`, tabs → space; `\`, `^` and empty or inner quotes between word characters removed (`c\a't'`);
 * expansions that are empty in a word removed (`wh$()oami`, `who$@ami`, `wh$1oami`, ``wh``oami``) and a
 * backslash-newline line continuation inside a word; `{cmd,arg}` brace expansion → `cmd arg`.
 */
export function shellNormalize(src: string): string {
  const s = lowerAscii(src);
  const n = s.length;
  // Fast path: no quoting, escaping, `$IFS` or braces to undo (one native class scan).
  if (!SHELL_SYNTAX.test(s)) return s;
  let out = '';
  // `a=i;b=d;$a$b`: simple assignments made earlier in the value, resolved where they are expanded
  const vars = s.indexOf('$') !== -1 && s.indexOf('=') !== -1 ? collectAssignments(s) : null;
  // bytes added by variable expansion: capped so that `a=<64 chars>;$a$a$a…` stays linear with a small constant
  let expanded = 0;
  const sameIdx = src.length === n; // `src` indices match `s` (lowerAscii kept the length): `\U` vs `\u`
  // the next `'` at or after an index, cached: the indices asked for only grow, so `$'` without a closing
  // quote (`$'s` in prose, repeated) does not rescan the rest of the value each time
  let quoteAt = -2;
  const nextQuote = (from: number): number => {
    if (quoteAt === -2 || (quoteAt !== -1 && quoteAt < from)) quoteAt = s.indexOf("'", from);
    return quoteAt;
  };
  // One special character (and what it consumes) at `i`: appends its replacement to `out`, returns the last index
  // consumed. Ordinary characters never reach it: they are copied by slice in runs (a per-character `out +=`
  // made long prose with an apostrophe cost a string concatenation per character).
  const special = (i: number): number => {
    const c = s.charCodeAt(i);
    // ANSI terminal escapes (`\033[2A`, `\x1b[1;31m`, `\e[K`, or a raw ESC): dropped, as a terminal would
    // not show them (log-viewer and shell-history injection hides commands behind them)
    const esc = c === 0x1b ? 1 : c === 0x5c ? (s.startsWith('033[', i + 1) ? 4 : s.startsWith('x1b[', i + 1) ? 4 : s.startsWith('e[', i + 1) ? 2 : 0) : 0;
    if (esc > 0 && (c !== 0x1b || s.charCodeAt(i + 1) === 0x5b)) {
      let k = i + esc + 1;
      while (k < n && k - i < 24 && (isDigit(s.charCodeAt(k)) || s.charCodeAt(k) === 0x3b)) k++;
      if (k < n && isAlpha(s.charCodeAt(k))) {
        i = k;
        return i;
      }
    }
    if (c === 0x5c) {
      const d = s.charCodeAt(i + 1);
      // line continuation inside a word: the shell joins `wh\<LF>oami`
      if (d === 0x0a && isWordChar(out.charCodeAt(out.length - 1)) && isWordChar(s.charCodeAt(i + 2))) return i + 1;
      if (d === 0x6e || d === 0x72) {
        // literal `\n` / `\r` as typed into a form: a line break once the app unescapes it
        if (!isWordChar(out.charCodeAt(out.length - 1)) || !isWordChar(s.charCodeAt(i + 2)) || isSep(out.charCodeAt(out.length - 1))) {
          out += '\n';
          i++;
          return i;
        }
      }
      if ((isWordChar(d) && isWordChar(out.charCodeAt(out.length - 1))) || d === 0x2f) return i; // `c\at`, `\/bin`
      out += '\\';
      return i;
    }
    if (c === 0x24 && s.charCodeAt(i + 1) === 0x27 && nextQuote(i + 2) !== -1 && nextQuote(i + 2) - i < 256) {
      // ANSI-C quoting `$'\x69\x64'`, `$'\151\144'`, `$'\u0069d'`: bash, zsh and ksh decode it to `id`
      const q = ansiC(s, i + 2, sameIdx ? src : s);
      if (q !== null) {
        out += q.text;
        return q.end;
      }
    }
    if (c === 0x24 && s.charCodeAt(i + 1) === 0x22) return i; // locale quoting `$"id"` is a plain `"id"`
    if ((c === 0x24 || c === 0x60) && isWordChar(out.charCodeAt(out.length - 1))) {
      // expansions that are empty inside a word: `$@`, `$*`, `$1`…`$9` (unset), `$()`, an empty backtick pair
      const d = s.charCodeAt(i + 1);
      const len = c === 0x60 ? (d === 0x60 ? 2 : 0) : d === 0x40 || d === 0x2a || (d >= 0x31 && d <= 0x39) ? 2 : d === 0x28 && s.charCodeAt(i + 2) === 0x29 ? 3 : 0;
      if (len > 0 && isWordChar(s.charCodeAt(i + len))) return i + len - 1;
    }
    if (c === 0x24 && s.startsWith('ifs', i + 1)) {
      out += ' ';
      i += 3;
      if (s.charCodeAt(i + 1) === 0x24 && isDigit(s.charCodeAt(i + 2))) i += 2;
      return i;
    }
    if (c === 0x24 && s.startsWith('{ifs}', i + 1)) {
      out += ' ';
      i += 5;
      return i;
    }
    if (c === 0x24 && expanded < 4096) {
      const v = expandVariable(s, i, vars, isWordChar(out.charCodeAt(out.length - 1)));
      if (v !== null) {
        out += v.text;
        expanded += v.text.length;
        return v.end;
      }
    }
    if (c === 0x09 || c === 0x0b || c === 0x0c) {
      out += ' ';
      return i;
    }
    if (c === 0x5e && isWordChar(out.charCodeAt(out.length - 1)) && isWordChar(s.charCodeAt(i + 1))) return i;
    if ((c === 0x27 || c === 0x22) && isWordChar(out.charCodeAt(out.length - 1))) {
      const d = s.charCodeAt(i + 1);
      if (d === c && isWordChar(s.charCodeAt(i + 2))) {
        i++; // empty quotes `c''at`
        return i;
      }
      if (isWordChar(d)) {
        // `c'a't`: a quote inside a word; drop it if the word continues after a closing quote soon
        const close = indexOfWithin(s, c, i + 1, 24);
        if (close !== -1 && isWordChar(s.charCodeAt(close + 1))) {
          let inner = true;
          for (let k = i + 1; k < close; k++) if (!isWordChar(s.charCodeAt(k))) { inner = false; break; }
          if (inner) {
            out += s.slice(i + 1, close);
            i = close;
            return i;
          }
        }
      }
    }
    if (c === 0x7b) {
      // brace expansion `{cat,/etc/passwd}` → `cat /etc/passwd`
      let k = i + 1;
      while (k < n && isWordChar(s.charCodeAt(k))) k++;
      if (k > i + 1 && s.charCodeAt(k) === 0x2c && COMMANDS.has(s.slice(i + 1, k))) {
        const close = indexOfWithin(s, 0x7d, k, 256);
        if (close !== -1) {
          out += '\n' + s.slice(i + 1, close).replaceAll(',', ' ') + ' ';
          i = close;
          return i;
        }
      }
    }
    out += s[i];
    return i;
  };
  let run = 0;
  for (let i = 0; i < n; i++) {
    if (!isShellSyntax(s.charCodeAt(i))) continue;
    out += s.slice(run, i);
    i = special(i);
    run = i + 1;
  }
  return out + s.slice(run);
}

/** Control characters named by a letter in ANSI-C quoting (`\a`, `\e`, `\n`, …). */
const ANSI_C_LETTERS: ReadonlyMap<number, string> = new Map([
  [0x61, '\x07'], [0x62, '\b'], [0x65, '\x1b'], [0x66, '\f'], [0x6e, '\n'], [0x72, '\r'], [0x74, '\t'], [0x76, '\v'],
]);

/**
 * Decodes the body of an ANSI-C quoted string `$'…'` starting at `i` (just after the opening quote) up to its
 * closing quote, within 256 characters: `\xHH`, octal `\NNN`, `\uHHHH`, `\UHHHHHHHH` (read from `orig`, which
 * still tells `\U` from `\u`), `\cX` and the letter escapes. Null without a closing quote (`$'s` in prose).
 */
function ansiC(s: string, i: number, orig: string): { text: string; end: number } | null {
  const end = Math.min(s.length, i + 256);
  let text = '';
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x27) return { text: lowerAscii(text), end: k };
    if (c !== 0x5c) {
      text += s[k];
      continue;
    }
    const d = s.charCodeAt(k + 1);
    let code = -1;
    let j = k + 2;
    if (d === 0x78 || d === 0x75) {
      // `\xHH` (1–2 digits), `\uHHHH` (1–4), `\UHHHHHHHH` (1–8)
      const max = d === 0x78 ? 2 : orig.charCodeAt(k + 1) === 0x55 ? 8 : 4;
      code = 0;
      while (j < end && j - k - 2 < max && hexVal(s.charCodeAt(j)) !== -1) code = code * 16 + hexVal(s.charCodeAt(j++));
      if (j === k + 2) code = -1;
    } else if (d >= 0x30 && d <= 0x37) {
      code = 0;
      j = k + 1;
      while (j < end && j - k - 1 < 3 && s.charCodeAt(j) >= 0x30 && s.charCodeAt(j) <= 0x37) code = code * 8 + s.charCodeAt(j++) - 0x30;
    } else if (d === 0x63) {
      j = k + 3; // `\cX`: a control character, not part of a command word
      code = 0x20;
    }
    if (code >= 0 && code <= 0x10ffff) {
      text += String.fromCodePoint(code);
      k = j - 1;
      continue;
    }
    const letter = ANSI_C_LETTERS.get(d);
    text += letter ?? (Number.isNaN(d) ? '' : s[k + 1]); // `\\`, `\'`, `\"` and unknown escapes: the character
    k++;
  }
  return null;
}

/** Environment variables that hold an absolute path: their first character is `/` (`${PATH:0:1}`). */
const PATH_VARS: ReadonlySet<string> = new Set(['path', 'home', 'pwd', 'oldpwd', 'shell', 'tmpdir', 'ld_library_path']);

/**
 * Simple shell assignments in `s` (lower-cased): `name=value` where `name` starts the value or follows a
 * separator or space, and the value is a plain word or quoted string of at most 64 characters without `$`.
 * At most 16 names; each `=` is read once with bounded look-back and look-ahead (linear).
 */
function collectAssignments(s: string): Map<string, string> | null {
  let vars: Map<string, string> | null = null;
  for (let e = s.indexOf('='); e !== -1 && (vars === null || vars.size < 16); e = s.indexOf('=', e + 1)) {
    let b = e;
    while (b > 0 && e - b < 32 && isWordChar(s.charCodeAt(b - 1))) b--;
    if (b === e || isDigit(s.charCodeAt(b))) continue;
    const p = b === 0 ? 0x20 : s.charCodeAt(b - 1);
    if (!(p === 0x20 || isSep(p) || p === 0x28 || p === 0x7b)) continue;
    let k = e + 1;
    const q = s.charCodeAt(k);
    let v: string;
    if (q === 0x27 || q === 0x22) {
      const close = indexOfWithin(s, q, k + 1, 65);
      if (close === -1) continue;
      v = s.slice(k + 1, close);
    } else if (q === 0x24 && s.charCodeAt(k + 1) === 0x27) {
      // `X=$'\x69d'`: an ANSI-C quoted value, decoded as the shell assigns it
      const a = ansiC(s, k + 2, s);
      if (a === null || a.text.length > 64) continue;
      v = a.text;
    } else {
      while (k < s.length && k - e <= 64) {
        const c = s.charCodeAt(k);
        if (c === 0x20 || isSep(c) || c === 0x29 || c === 0x7d || c === 0x27 || c === 0x22 || c === 0x5c) break;
        k++;
      }
      v = s.slice(e + 1, k);
    }
    if (v.indexOf('$') !== -1) continue;
    (vars ??= new Map()).set(s.slice(b, e), v);
  }
  return vars;
}

/**
 * Expands the parameter at `i` (a `$`) as the shell would, where that is knowable: a variable assigned earlier
 * in the value ({@link collectAssignments}); `${VAR:off:len}` of such a variable, or `${PATH:0:1}` of a
 * variable that holds an absolute path (`/`); `${x:-word}` of an unset variable (its default); `$SHELL` as
 * `sh`; and an unset variable glued into a word (`c${u}at`, `cat$u`), which is empty. Other expansions (`$HOME` as an argument, templates such as `${name}` in
 * prose) are left as they are. Returns the text and the last index consumed, or null.
 */
function expandVariable(s: string, i: number, vars: Map<string, string> | null, glued: boolean): { text: string; end: number } | null {
  const braced = s.charCodeAt(i + 1) === 0x7b;
  let k = i + (braced ? 2 : 1);
  const b = k;
  if (!isAlpha(s.charCodeAt(k)) && s.charCodeAt(k) !== 0x5f) return null;
  while (k < s.length && k - b < 32 && isWordChar(s.charCodeAt(k))) k++;
  const name = s.slice(b, k);
  const val = vars?.get(name);
  if (!braced) {
    if (val !== undefined) return { text: val, end: k - 1 };
    if (name === 'shell' && !glued) return { text: 'sh', end: k - 1 }; // `$SHELL -c id`: the user's shell
    const after = s.charCodeAt(k);
    // `cat$u /etc/x`: unset, glued to the command word
    return glued && (Number.isNaN(after) || after === 0x20 || after === 0x2f || isSep(after)) ? { text: '', end: k - 1 } : null;
  }
  const d = s.charCodeAt(k);
  if (d === 0x7d) {
    if (val !== undefined) return { text: val, end: k };
    if (name === 'shell' && !glued) return { text: 'sh', end: k };
    return glued || isWordChar(s.charCodeAt(k + 1)) ? { text: '', end: k } : null;
  }
  if (d !== 0x3a) return null;
  if (s.charCodeAt(k + 1) === 0x2d && val === undefined) {
    // `${x:-id}`: an unset variable's default, when it is a plain word (`${VAR:-docker.io}` stays a word too)
    let j = k + 2;
    while (j < s.length && j - k < 66 && (isWordChar(s.charCodeAt(j)) || s.charCodeAt(j) === 0x2f || s.charCodeAt(j) === 0x2e || s.charCodeAt(j) === 0x2d)) j++;
    return s.charCodeAt(j) === 0x7d ? { text: s.slice(k + 2, j), end: j } : null;
  }
  // `${name:off:len}` with plain numbers (Spring/compose defaults `${port:8080}`, `${x:-y}` are not substrings)
  let j = k + 1;
  const o0 = j;
  while (j < s.length && j - o0 < 4 && isDigit(s.charCodeAt(j))) j++;
  if (j === o0 || s.charCodeAt(j) !== 0x3a) return null;
  const off = Number(s.slice(o0, j));
  const l0 = ++j;
  while (j < s.length && j - l0 < 4 && isDigit(s.charCodeAt(j))) j++;
  if (j === l0 || s.charCodeAt(j) !== 0x7d) return null;
  const len = Number(s.slice(l0, j));
  if (val !== undefined) return { text: val.slice(off, off + len), end: j };
  if (PATH_VARS.has(name) && off === 0 && len === 1) return { text: '/', end: j };
  return null;
}

/** The characters {@link shellNormalize} acts on (the class of {@link SHELL_SYNTAX}). */
function isShellSyntax(c: number): boolean {
  return c === 0x5c || c === 0x24 || c === 0x27 || c === 0x22 || c === 0x5e || c === 0x7b || c === 0x60 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x1b;
}

/** Index of char code `ch` in `s` within `max` characters after `from`, or -1 (a bounded `indexOf`). */
function indexOfWithin(s: string, ch: number, from: number, max: number): number {
  const end = Math.min(s.length, from + max);
  for (let i = from; i < end; i++) if (s.charCodeAt(i) === ch) return i;
  return -1;
}

/** Shell command separators that start a new command position (`;`, `|`, `&`, newline, backtick). */
function isSep(c: number): boolean {
  return c === 0x3b || c === 0x7c || c === 0x26 || c === 0x0a || c === 0x0d || c === 0x60;
}

/** True when the token starting at `i` looks like a shell argument for a command with evidence level `lvl`. */
function argLike(s: string, i: number, lvl: 'b' | 'a' | 'n', word: string): boolean {
  const c = s.charCodeAt(i);
  if (c === 0x2d || c === 0x2f || c === 0x5c || c === 0x7e || c === 0x24 || c === 0x25 || c === 0x2e) return true; // - / \ ~ $ % .
  if (c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x60 || c === 0x2a) return true; // quotes, < > ` *
  if (isAlpha(c) && s.charCodeAt(i + 1) === 0x3a && (s.charCodeAt(i + 2) === 0x5c || s.charCodeAt(i + 2) === 0x2f)) return true; // C:\
  if (s.startsWith('http://', i) || s.startsWith('https://', i) || s.startsWith('ftp://', i)) return true;
  if (lvl === 'n' && isDigit(c)) return true;
  // network tools with a host name or address argument (`nslookup x.oast.example`, `curl evil.example/x`)
  if (NET_TOOLS.has(word) && (isWordChar(c) || c === 0x5b)) {
    let k = i;
    let dots = 0;
    while (k < s.length && k - i < 256) {
      const d = s.charCodeAt(k);
      if (d === 0x2e) dots++;
      else if (!(isWordChar(d) || d === 0x2d || d === 0x3a || d === 0x5b || d === 0x5d)) break;
      k++;
    }
    if (dots > 0 && s.charCodeAt(k - 1) !== 0x2e) return true;
  }
  if (word === 'net' || word === 'reg' || word === 'netsh' || word === 'sc') {
    for (const sub of WIN_SUBCOMMANDS) if (s.startsWith(sub, i) && !isWordChar(s.charCodeAt(i + sub.length))) return true;
  }
  if (LOLBINS.has(word) && c > 0x20) return true;
  if ((word === 'which' || word === 'whereis' || word === 'call' || word === 'sudo' || word === 'nohup' || word === 'exec' || word === 'xargs' || word === 'timeout' || word === 'busybox' || word === 'toybox') && isAlpha(c)) {
    let k = i;
    while (k < s.length && isWordChar(s.charCodeAt(k))) k++;
    if (!COMMANDS.has(s.slice(i, k))) return false;
    // `which curl` ends there (or at a separator); `which node.js versions …` is prose
    if (word === 'which' || word === 'whereis') {
      while (k < s.length && s.charCodeAt(k) === 0x20) k++;
      const e = s.charCodeAt(k);
      return k >= s.length || isSep(e) || e === 0x29 || e === 0x60; // also the end of `$(which id)`
    }
    return true;
  }
  return false;
}

/** Result of reading a command word at a command position. */
interface CmdAt {
  word: string;
  /** Index just after the word. */
  end: number;
  /** True when the word came from a glob path (`/???/c?t`). */
  glob: boolean;
  /** Index where the word or its path starts. */
  start: number;
}

/**
 * Reads the command word at `i` (after spaces and opening quotes/parens): a bare word or the basename of an
 * absolute path (`/usr/bin/id` → `id`). Glob paths (`/???/??t`) are reported with `glob: true`. Null when
 * there is no word.
 */
function readCommand(s: string, i: number): CmdAt | null {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x28 || c === 0x7b || c === 0x22 || c === 0x27 || c === 0x40 || c === 0x21) i++;
    else break;
  }
  const start = i;
  let glob = false;
  let lastSlash = -1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isWordChar(c) || c === 0x2d || c === 0x2e) { i++; continue; }
    if (c === 0x2f) { lastSlash = i; i++; continue; }
    if (c === 0x3f || c === 0x2a) { glob = true; i++; continue; }
    break;
  }
  if (i === start) return null;
  let word = s.slice(lastSlash === -1 ? start : lastSlash + 1, i);
  if (lastSlash !== -1 && s.charCodeAt(start) !== 0x2f) return null; // relative paths `a/b` are not commands
  if (word.endsWith('.exe')) word = word.slice(0, -4);
  return { word, end: i, glob, start };
}

/** Program directories: a glob there that fits a known command runs it (`/bin/ba?h`, `/usr/bin/c*t`). */
const BIN_DIRS: ReadonlySet<string> = new Set(['/bin/', '/usr/bin/', '/sbin/', '/usr/sbin/', '/usr/local/bin/']);

/**
 * True when a glob path with a single wildcard (which {@link isGlobPath} leaves alone) sits in a program
 * directory and its basename fits a known command (`/bin/ba?h` → `bash`). Bounded: basenames of at most 32
 * characters against the command list.
 */
function isBinGlob(s: string, cmd: CmdAt): boolean {
  if (!cmd.glob || cmd.word.length > 32) return false;
  const dirEnd = cmd.end - cmd.word.length;
  if (!BIN_DIRS.has(s.slice(cmd.start, dirEnd))) return false;
  for (const name of COMMANDS.keys()) if (globMatch(cmd.word, name)) return true;
  return false;
}

/** Shell glob `?` / `*` match of `name` against `pat` (both short: quadratic at worst on ≤ 32 characters). */
function globMatch(pat: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    const c = pat.charCodeAt(p);
    if (p < pat.length && (c === 0x3f || c === name.charCodeAt(n))) {
      p++;
      n++;
    } else if (c === 0x2a) {
      star = p++;
      mark = n;
    } else if (star !== -1) {
      p = star + 1;
      n = ++mark;
    } else return false;
  }
  while (pat.charCodeAt(p) === 0x2a) p++;
  return p === pat.length;
}

/** True when a glob-obfuscated absolute path (`/???/??t`, `/b?n/c*t`) sits at `i`. */
function isGlobPath(s: string, cmd: CmdAt, i: number): boolean {
  if (!cmd.glob) return false;
  let k = i;
  while (k < s.length && (s.charCodeAt(k) === 0x20 || s.charCodeAt(k) === 0x28)) k++;
  if (s.charCodeAt(k) !== 0x2f) return false;
  let slashes = 0;
  let q = 0;
  let globs = 0;
  for (let j = k; j < cmd.end; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x2f) slashes++;
    else if (c === 0x3f) { q++; globs++; }
    else if (c === 0x2a) globs++;
  }
  // `/???/??t`: two or more wildcards including `?` (`/foo/*` is an ordinary path pattern)
  return slashes >= 2 && globs >= 2 && q >= 1;
}

/**
 * Judges the command at position `i` (a command position). Returns a short finding or null.
 * `requireArgs` is set for the start of the value (weaker position): bare recon words must then be the whole
 * value, others need argument evidence.
 */
function judgeAt(s: string, i: number, atStart: boolean): string | null {
  if (!atStart) {
    const self = shellSelf(s, i);
    if (self !== null) return self;
  }
  const cmd = readCommand(s, i);
  if (cmd === null) return null;
  if ((isGlobPath(s, cmd, i) || isBinGlob(s, cmd)) && !atStart) return 'glob command ' + clip(s.slice(i, cmd.end + 24), 48);
  const lvl = COMMANDS.get(cmd.word);
  if (lvl === undefined) return null;
  const n = s.length;
  let k = cmd.end;
  const c = k < n ? s.charCodeAt(k) : -1;
  // PowerShell `iex(…)`: the call form of Invoke-Expression
  if (c === 0x28 && !atStart && (cmd.word === 'iex' || cmd.word === 'invoke-expression')) return 'command ' + clip(s.slice(i, i + 32), 48);
  // word boundary after the command
  if (c !== -1 && c !== 0x20 && !isSep(c) && c !== 0x22 && c !== 0x27 && c !== 0x29 && c !== 0x3c && c !== 0x3e && c !== 0x23 && c !== 0x7d) {
    return null;
  }
  while (k < n && s.charCodeAt(k) === 0x20) k++;
  const next = k < n ? s.charCodeAt(k) : -1;
  const endsHere = next === -1 || isSep(next) || next === 0x22 || next === 0x27 || next === 0x29 || next === 0x23 || next === 0x7d;
  // an argument is a separate word: only redirections may follow the command without a space (`cat</etc/x`)
  const spaced = k > cmd.end || next === 0x3c || next === 0x3e;
  if (lvl === 'b' && endsHere) {
    if (!atStart) return 'command ' + cmd.word;
    // at the start: the whole value must be a distinctive recon command (`id`, `pwd`, `hostname` are also
    // ordinary field values)
    if (next === -1 && DISTINCT_BARE.has(cmd.word)) return 'command ' + cmd.word;
    return null;
  }
  if (atStart && !START_OK.has(cmd.word)) return null;
  if (next !== -1 && spaced && argLike(s, k, lvl, cmd.word)) {
    if (atStart && proseAfterWeakArgument(s, k, cmd.word)) return null;
    return 'command ' + clip(cmd.word + ' ' + s.slice(k, k + 32), 48);
  }
  return atStart ? null : redirectToPath(s, k);
}

/** True when the text at `i` starts like a path, option, variable or URL (strong shell-argument evidence). */
function strongArgument(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c === 0x2d || c === 0x2f || c === 0x5c || c === 0x7e || c === 0x24 || c === 0x25 || c === 0x2e) return true;
  if (isAlpha(c) && s.charCodeAt(i + 1) === 0x3a && (s.charCodeAt(i + 2) === 0x5c || s.charCodeAt(i + 2) === 0x2f)) return true;
  return s.startsWith('http://', i) || s.startsWith('https://', i) || s.startsWith('ftp://', i);
}

/**
 * At the start of a value, a command word's argument that is only a quoted word, a number or a host name is
 * weak evidence: when a plain word that is no command follows it, the value is a sentence (`Type 'yes' to
 * confirm`, `Sleep 8 hours, drink water`, `ping 8.8.8.8 fails from the office`), not a command line (`sleep 8`,
 * `ping 8.8.8.8 -c 4`, `echo 'x' > /tmp/y`, `timeout 10 bash -c id` still are). Bounded look-ahead.
 */
function proseAfterWeakArgument(s: string, k: number, word: string): boolean {
  const n = s.length;
  const c = s.charCodeAt(k);
  let e: number;
  if (strongArgument(s, k)) return false;
  if (c === 0x22 || c === 0x27) {
    if (strongArgument(s, k + 1)) return false; // `type 'C:\boot.ini'`
    e = indexOfWithin(s, c, k + 1, 256);
    if (e === -1) return false;
    e++;
  } else if (isWordChar(c) && (COMMANDS.get(word) === 'n' || NET_TOOLS.has(word))) {
    // a number (`sleep 8`) or host name (`curl example.com`); sub-commands (`net user`) stay strong
    e = k;
    while (e < n && e - k < 256 && s.charCodeAt(e) !== 0x20) e++;
  } else return false;
  if (s.charCodeAt(e) !== 0x20) return false;
  while (e < n && s.charCodeAt(e) === 0x20) e++;
  let w = e;
  while (w < n && w - e < 32 && isAlpha(s.charCodeAt(w))) w++;
  if (w === e) return false;
  const d = w < n ? s.charCodeAt(w) : -1;
  if (!(d === -1 || d === 0x20 || d === 0x2c || d === 0x2e || d === 0x3f || d === 0x21)) return false;
  return !COMMANDS.has(s.slice(e, w));
}

/**
 * After a known command at a command position: an output redirection to an absolute path before the next
 * separator (`;echo pwned>/var/www/x.php`, `| tee -a … > ~/.bashrc`) writes a file. Bounded to 256 characters.
 */
function redirectToPath(s: string, k: number): string | null {
  const end = Math.min(s.length, k + 256);
  for (let j = k; j < end; j++) {
    const c = s.charCodeAt(j);
    if (isSep(c)) return null;
    if (c !== 0x3e) continue;
    let t = j + 1;
    if (s.charCodeAt(t) === 0x3e || s.charCodeAt(t) === 0x7c) t++; // `>>`, `>|`
    while (t < end && s.charCodeAt(t) === 0x20) t++;
    const d = s.charCodeAt(t);
    if (d === 0x2f || d === 0x7e || (isAlpha(d) && s.charCodeAt(t + 1) === 0x3a && s.charCodeAt(t + 2) === 0x5c)) return 'redirect ' + clip(s.slice(j, j + 40), 48);
  }
  return null;
}

/**
 * `$0`, `${0}`, `${!#}` at a command position: the shell's own name (`sh -c "ping $host"` runs `sh` again), a
 * command word that names no command. Glued to the separator (`;$0`) or followed by an option or redirection
 * (`; $0 -c id`, `| $0 <x`): a price after a separator (`shipping; $0`) stays ordinary text.
 */
function shellSelf(s: string, i: number): string | null {
  let k = i;
  while (k < s.length && s.charCodeAt(k) === 0x20) k++;
  if (s.charCodeAt(k) !== 0x24) return null;
  const len = s.startsWith('$0', k) ? 2 : s.startsWith('${0}', k) || s.startsWith('${!#}', k) ? 4 + (s.charCodeAt(k + 2) === 0x21 ? 1 : 0) : 0;
  if (len === 0) return null;
  const e = k + len;
  const a = s.charCodeAt(e);
  // `|` after it is a table cell (`|free|$0|`), not a pipe
  const glued = k === i && (Number.isNaN(a) || (isSep(a) && a !== 0x7c) || a === 0x3c || a === 0x3e);
  const withArgs = a === 0x20 && ((s.charCodeAt(e + 1) === 0x2d && isAlpha(s.charCodeAt(e + 2))) || s.charCodeAt(e + 1) === 0x3c || s.charCodeAt(e + 1) === 0x3e);
  return glued || withArgs || (len > 2 && (Number.isNaN(a) || a === 0x20 || isSep(a))) ? 'shell self-invocation ' + s.slice(k, e) : null;
}

/**
 * Scans a normalized value for a command after a separator (`;`, `|`, `&`, newline). Returns the finding
 * or null. Each separator is visited once and the judgement reads a bounded window: linear overall.
 */
export function findSeparatedCommand(s: string): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!isSep(c) || c === 0x60) continue;
    let j = i + 1;
    while (j < n && (isSep(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x60)) j++;
    const hit = judgeAt(s, j, false);
    if (hit !== null) return hit;
    i = j - 1;
  }
  return null;
}

/** Scans for command substitution: `` `cmd` `` and `$(cmd)` whose first word is a known command. */
export function findSubstitution(s: string): string | null {
  const n = s.length;
  let ticks = 0; // backticks before `i`: an even count makes a backtick an opening one
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let j = -1;
    if (c === 0x60) j = i + 1;
    else if (c === 0x24 && s.charCodeAt(i + 1) === 0x28) j = i + 2;
    if (j === -1) continue;
    const opening = c === 0x60 && ticks % 2 === 0;
    while (j < n && s.charCodeAt(j) === 0x60) j++; // `$(\`id\`)`
    if (c === 0x60) ticks += j - i;
    if (c === 0x24) {
      // `$(< /etc/passwd)`: bash's shorthand for `$(cat /etc/passwd)` reads a file with no command word
      let k = j;
      while (k < n && s.charCodeAt(k) === 0x20) k++;
      if (s.charCodeAt(k) === 0x3c && s.charCodeAt(k + 1) !== 0x3c) {
        k++;
        while (k < n && s.charCodeAt(k) === 0x20) k++;
        const d = s.charCodeAt(k);
        if (d === 0x2f || d === 0x7e || d === 0x2e || d === 0x24) return 'substitution ' + clip(s.slice(i, k + 24), 48);
      }
    }
    if (j > i + 1 && c === 0x60) i = j - 1; // a run of backticks is visited once
    const cmd = readCommand(s, j);
    if (cmd === null) continue;
    if (isGlobPath(s, cmd, j)) return 'substitution ' + clip(s.slice(i, cmd.end + 8), 48);
    const lvl = COMMANDS.get(cmd.word);
    if (lvl === undefined) continue;
    let k = cmd.end;
    const e = k < n ? s.charCodeAt(k) : -1;
    if (!(e === -1 || e === 0x20 || e === 0x60 || e === 0x29 || e === 0x3b || e === 0x7c || e === 0x5c)) continue;
    while (k < n && s.charCodeAt(k) === 0x20) k++;
    const next = k < n ? s.charCodeAt(k) : -1;
    // Backticks are also Markdown code spans (`id`, `node --flag`): unless the command is distinctive, a
    // backtick needs a shell context before it (start of value, a separator, `=`, `(`, `$`); `$(` always counts.
    // An opening backtick glued to a word (`127.0.0.1\`id\``) is shell, not Markdown: a code span follows a
    // space or punctuation, and the glued closing backtick of `\`id\`s` is not an opening one.
    let b = i - 1;
    while (b >= 0 && (s.charCodeAt(b) === 0x20 || s.charCodeAt(b) === 0x22 || s.charCodeAt(b) === 0x27 || s.charCodeAt(b) === 0x5c)) b--;
    const shellCtx = c === 0x24 || b < 0 || isSep(s.charCodeAt(b)) || s.charCodeAt(b) === 0x3d || s.charCodeAt(b) === 0x28 || s.charCodeAt(b) === 0x24 ||
      (opening && b === i - 1 && isWordChar(s.charCodeAt(b)));
    if (!shellCtx && !DISTINCT_BARE.has(cmd.word)) continue;
    if (next !== -1 && next !== 0x60 && next !== 0x29 && next !== 0x5c && k > cmd.end && argLike(s, k, lvl, cmd.word)) return 'substitution ' + clip(s.slice(i, k + 16), 48);
    if (lvl !== 'b' || !(next === -1 || next === 0x60 || next === 0x29 || next === 0x5c || next === 0x3b || next === 0x7c)) continue;
    return 'substitution ' + clip(s.slice(i, k + 8), 48);
  }
  return null;
}

/** Per-input cache of the normalized form (several rules share it on the same part). */
let lastIn = '';
let lastOut = '';
function norm(input: string): string {
  if (input !== lastIn) {
    lastIn = input;
    lastOut = shellNormalize(input);
  }
  return lastOut;
}

/** `;` `|` `&` LF CR backtick `\` as one character class (linear, native scan). */
const SHELL_META = /[;|&\n\r`\\]/;

/** Characters that must be present for any separator-based rule to run (cheap pre-filter). */
function hasShellMeta(s: string): boolean {
  return SHELL_META.test(s);
}

const separated: PartRule = {
  kind: 'part',
  id: '932100',
  name: 'rce-unix-windows-command-after-separator',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: CHAINS,
  needs: ';|&`\\', // the first guard of match
  match(input, part) {
    if (input.length < 2 || !hasShellMeta(input)) return null;
    if (part.loc.kind === 'header' && part.loc.name !== 'user-agent' && part.loc.name !== 'referer') return null;
    return findSeparatedCommand(norm(input));
  },
};

const substitution: PartRule = {
  kind: 'part',
  id: '932110',
  name: 'rce-command-substitution',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: CHAINS,
  needs: '`$', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('`') === -1 && input.indexOf('$(') === -1) return null;
    return findSubstitution(norm(input));
  },
};

const glob: PartRule = {
  kind: 'part',
  id: '932120',
  name: 'rce-glob-obfuscated-command',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: CHAINS,
  needs: '?*', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('?') === -1 && input.indexOf('*') === -1) return null;
    const s = norm(input);
    // `/???/??t /etc/passwd` anywhere a command position can be: start, after a separator or space.
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) !== 0x2f) continue;
      const b = i === 0 ? 0x20 : s.charCodeAt(i - 1);
      if (!(b === 0x20 || isSep(b) || b === 0x28)) continue;
      const cmd = readCommand(s, i);
      if (cmd === null) continue;
      if (!cmd.glob) {
        i = Math.max(i, cmd.end - 1);
        continue;
      }
      // at least two segments, each made only of word chars and globs, with ≥ 2 glob characters
      let globs = 0;
      let segs = 0;
      for (let k = i; k < cmd.end; k++) {
        const c = s.charCodeAt(k);
        if (c === 0x3f || c === 0x2a) globs++;
        if (c === 0x2f) segs++;
      }
      const after = s.charCodeAt(cmd.end);
      if (isGlobPath(s, cmd, i) && (after === 0x20 || Number.isNaN(after) || isSep(after))) return 'glob path ' + clip(s.slice(i, cmd.end), 48);
      i = Math.max(i, cmd.end - 1);
    }
    return null;
  },
};

/**
 * `932170`: the shell's `$IFS` (internal field separator) used as a space — `cat${IFS}/etc/passwd`,
 * `;echo$IFS$9x`. Only shells expand it; it has no place in ordinary input.
 */
const ifs: PartRule = {
  kind: 'part',
  id: '932170',
  name: 'rce-ifs-evasion',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'lowercase']],
  needs: '$', // the loop of match
  pure: true,
  match(input) {
    for (let i = input.indexOf('$'); i !== -1; i = input.indexOf('$', i + 1)) {
      const braced = input.startsWith('{ifs}', i + 1);
      if (braced || (input.startsWith('ifs', i + 1) && !isWordChar(input.charCodeAt(i + 4)) ) || (input.startsWith('ifs$', i + 1) && isDigit(input.charCodeAt(i + 5)))) {
        // a word right before it (the command) makes it shell syntax: `cat${IFS}`, `;echo$IFS`
        if (i > 0 && isWordChar(input.charCodeAt(i - 1))) return clip(input.slice(Math.max(0, i - 16), i + 24));
      }
    }
    return null;
  },
};

/**
 * Finds a parameter expansion that slices or edits a variable to build a word (CWE-78 filter evasion):
 * bash `${PATH:0:1}etc`, `${x//a/b}`, `${PATH%%u*}`, and cmd `%ProgramData:~0,1%`. Only these operator forms
 * count (defaults such as `${port:8080}` or `${VAR:-x}` of templates and compose files do not), and the bash
 * form must touch a word, a `/` or a separator. Linear: each `$`/`%` reads a bounded window.
 */
export function findSliceExpansion(s: string): string | null {
  for (let i = s.indexOf('${'); i !== -1; i = s.indexOf('${', i + 2)) {
    let k = i + 2;
    while (k < s.length && k - i < 34 && isWordChar(s.charCodeAt(k))) k++;
    if (k === i + 2) continue;
    const op = s.charCodeAt(k);
    const op2 = s.charCodeAt(k + 1);
    let ok = false;
    if (op === 0x3a) {
      // `:off:len`, digits only
      let j = k + 1;
      while (j < s.length && j - k < 5 && isDigit(s.charCodeAt(j))) j++;
      if (j > k + 1 && s.charCodeAt(j) === 0x3a) {
        const l0 = j + 1;
        j = l0;
        while (j < s.length && j - l0 < 4 && isDigit(s.charCodeAt(j))) j++;
        ok = j > l0 && s.charCodeAt(j) === 0x7d;
      }
    } else if ((op === 0x25 || op === 0x23 || op === 0x2f) && op2 === op) {
      ok = indexOfWithin(s, 0x7d, k + 2, 64) !== -1; // `%%`, `##`, `//` pattern edits
    }
    if (!ok) continue;
    const before = i === 0 ? 0x3b : s.charCodeAt(i - 1);
    const close = indexOfWithin(s, 0x7d, k, 66);
    const after = close === -1 ? 0 : s.charCodeAt(close + 1);
    if (isWordChar(before) || before === 0x2f || isSep(before) || isWordChar(after) || after === 0x2f) return clip(s.slice(i, i + 32));
  }
  // cmd: `%name:~off[,len]%`
  for (let i = s.indexOf(':~'); i !== -1; i = s.indexOf(':~', i + 2)) {
    let b = i;
    while (b > 0 && i - b < 32 && (isWordChar(s.charCodeAt(b - 1)) || s.charCodeAt(b - 1) === 0x28 || s.charCodeAt(b - 1) === 0x29 || s.charCodeAt(b - 1) === 0x20)) b--;
    if (b === i || s.charCodeAt(b - 1) !== 0x25) continue;
    let j = i + 2;
    if (s.charCodeAt(j) === 0x2d) j++;
    const d0 = j;
    while (j < s.length && j - d0 < 4 && isDigit(s.charCodeAt(j))) j++;
    if (j === d0) continue;
    if (s.charCodeAt(j) === 0x2c) {
      j++;
      if (s.charCodeAt(j) === 0x2d) j++;
      const l0 = j;
      while (j < s.length && j - l0 < 4 && isDigit(s.charCodeAt(j))) j++;
      if (j === l0) continue;
    }
    if (s.charCodeAt(j) === 0x25) return clip(s.slice(b - 1, j + 1));
  }
  return null;
}

/**
 * `932200`: variable slicing used to build a command or a path (`${PATH:0:1}etc${PATH:0:1}passwd`,
 * `%ProgramData:~0,1%%ProgramData:~9,2% /c`) — shell syntax that ordinary text and templates do not use.
 */
const sliceExpansion: PartRule = {
  kind: 'part',
  id: '932200',
  name: 'rce-variable-slice-evasion',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '{~', // `${` or `:~`
  pure: true,
  match(input) {
    if (input.indexOf('${') === -1 && input.indexOf(':~') === -1) return null;
    return findSliceExpansion(input);
  },
};

/**
 * Finds a redirection to bash's network pseudo-files (`>& /dev/tcp/10.0.0.1/4444`, `5<>/dev/tcp/host/80`,
 * `< /dev/udp/…`) or a gawk network special file in a string (`"/inet/tcp/0/host/port"`): a reverse shell or
 * exfiltration channel without `nc`. The path must follow `<`, `>` or `&` (or a quote for gawk) and name a
 * host and a port, so prose that mentions `/dev/tcp` stays clean. Linear.
 */
export function findNetRedirect(s: string): string | null {
  for (let i = s.indexOf('/dev/'); i !== -1; i = s.indexOf('/dev/', i + 5)) {
    if (!(s.startsWith('tcp/', i + 5) || s.startsWith('udp/', i + 5))) continue;
    let b = i - 1;
    while (b >= 0 && s.charCodeAt(b) === 0x20) b--;
    const p = b < 0 ? 0 : s.charCodeAt(b);
    if ((p === 0x3c || p === 0x3e || p === 0x26) && hostPort(s, i + 9)) return clip(s.slice(Math.max(0, b - 4), i + 32));
  }
  for (let i = s.indexOf('/inet'); i !== -1; i = s.indexOf('/inet', i + 5)) {
    const p = s.charCodeAt(i - 1);
    let k = i + 5;
    if (s.charCodeAt(k) === 0x34 || s.charCodeAt(k) === 0x36) k++; // `/inet4/`, `/inet6/`
    if ((p === 0x22 || p === 0x27) && (s.startsWith('/tcp/', k) || s.startsWith('/udp/', k))) {
      // gawk: `/inet/tcp/lport/host/rport`
      let j = k + 5;
      while (j < s.length && j - k < 8 && isDigit(s.charCodeAt(j))) j++;
      if (j > k + 5 && s.charCodeAt(j) === 0x2f && hostPort(s, j + 1)) return clip(s.slice(i, i + 40));
    }
  }
  return null;
}

/** True when `host/port` (a host name or address, then `/` and digits) starts at `i`. */
function hostPort(s: string, i: number): boolean {
  let k = i;
  while (k < s.length && k - i < 256 && (isWordChar(s.charCodeAt(k)) || s.charCodeAt(k) === 0x2e || s.charCodeAt(k) === 0x2d || s.charCodeAt(k) === 0x3a)) k++;
  return k > i && s.charCodeAt(k) === 0x2f && isDigit(s.charCodeAt(k + 1));
}

/** `932190`: bash `/dev/tcp` / `/dev/udp` redirections and gawk `/inet/tcp` (reverse shells). */
const netRedirect: PartRule = {
  kind: 'part',
  id: '932190',
  name: 'rce-dev-tcp-redirection',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: CMDI_TARGETS,
  transforms: CHAINS,
  needs: '/', // both scans look for `/dev/` or `/inet`
  pure: true,
  match(input) {
    if (input.indexOf('/dev/') === -1 && input.indexOf('/inet') === -1) return null;
    return findNetRedirect(norm(input));
  },
};

/**
 * Words that, inside an option name (or a `key=` of its value), make the option run a program: ssh
 * `-oProxyCommand=`, git `--upload-pack=` / `-c core.sshCommand=`, tar `--checkpoint-action=exec=` /
 * `--to-command=` / `--use-compress-program=`, find `-exec`, rsync `--rsh=` / `--rsync-path=`, zip
 * `--unzip-command=`, Chromium `--renderer-cmd-prefix=`, git `--open-files-in-pager=` (GTFOBins, CWE-88).
 */
const EXEC_OPTION_WORDS: readonly string[] = [
  'command', 'exec', 'pack', 'program', 'rsh', 'rsync-path', 'pager', 'editor', 'launcher', 'cmd-prefix', 'askpass',
  'checkpoint-action', 'fsmonitor', 'sshcommand',
];

/** Result of reading the option at the start of a value ({@link readOption}). */
interface OptionAt {
  /** The option name without dashes (lower-cased); for a glued short option only its letter. */
  name: string;
  /** Its value (`--x=value`, `-ovalue`, or the next word), possibly empty. */
  value: string;
  /** Index just after the option and its value. */
  end: number;
}

/**
 * Reads the option at `i` (`-o /tmp/x`, `--output=/x`, `-oProxyCommand=id`, `-exec id ;`), or null when there
 * is none (`-5`, `- item`, `--`). `s` is lower-cased.
 */
function readOption(s: string, i: number): OptionAt | null {
  if (s.charCodeAt(i) !== 0x2d) return null;
  const long = s.charCodeAt(i + 1) === 0x2d;
  let k = i + (long ? 2 : 1);
  const b = k;
  if (!isAlpha(s.charCodeAt(k))) return null;
  while (k < s.length && k - b < 40 && (isWordChar(s.charCodeAt(k)) || s.charCodeAt(k) === 0x2d || s.charCodeAt(k) === 0x2e)) k++;
  const name = s.slice(b, k);
  const c = s.charCodeAt(k);
  let v = -1;
  if (c === 0x3d) v = k + 1; // `--output=/x`
  else if (c === 0x20) {
    v = k;
    while (v < s.length && s.charCodeAt(v) === 0x20) v++;
    if (v === s.length || s.charCodeAt(v) === 0x2d) v = -1; // nothing, or another option, follows
  } else if (!long && (c === 0x2f || c === 0x40 || c === 0x7e || c === 0x5c)) v = k; // glued path (`-o/tmp/x`, `-d@/etc/x`)
  let e = v === -1 ? k : v;
  while (e < s.length && e - k < 256 && s.charCodeAt(e) !== 0x20) e++;
  return { name, value: v === -1 ? '' : s.slice(v, e), end: e };
}

/**
 * True when an option value names a file a program could write or read for an attacker: absolute, `~`,
 * `../`, a Windows drive, `@file` (curl `-d @/etc/passwd`), or a server-side script (`x.php`, a web shell).
 */
function fileLike(v: string): boolean {
  let k = 0;
  if (v.charCodeAt(0) === 0x40) k = 1; // `@/etc/passwd`
  const c = v.charCodeAt(k);
  if (c === 0x2f || c === 0x7e || c === 0x5c || v.startsWith('../', k) || v.startsWith('..\\', k)) return true;
  if (isAlpha(c) && v.charCodeAt(k + 1) === 0x3a && (v.charCodeAt(k + 2) === 0x5c || v.charCodeAt(k + 2) === 0x2f)) return true;
  const dot = v.lastIndexOf('.');
  if (dot === -1) return false;
  const ext = v.slice(dot + 1);
  return ext === 'php' || ext === 'phtml' || ext === 'jsp' || ext === 'jspx' || ext === 'asp' || ext === 'aspx' || ext === 'cgi';
}

/** Short options that name a file to write or read in curl/wget/sendmail/tar (`-o`, `-O`, `-X`, `-T`, `-d @`, `-K`, `-f`, `-c`). */
const FILE_SHORT: ReadonlySet<string> = new Set(['o', 'x', 't', 'd', 'k', 'f', 'c']);

/** Words that make a long option name a file (`--output-document`, `--log-file`, `--post-file`, find `-fprintf`). */
const FILE_LONG_WORDS: readonly string[] = ['file', 'output', 'log', 'data', 'config', 'cookie', 'dir', 'fprint'];

/** True when option `name` takes a file to write or read ({@link FILE_SHORT}, {@link FILE_LONG_WORDS}). */
function fileOption(name: string): boolean {
  if (name.length === 1) return FILE_SHORT.has(name);
  for (const w of FILE_LONG_WORDS) if (name.includes(w)) return true;
  return false;
}

/** Shells and interpreters: an option value naming one runs it (rsync/nc `-e sh`, `--shell=bash`). */
const SHELL_VALUES: ReadonlySet<string> = new Set([
  'sh', 'bash', 'zsh', 'ksh', 'dash', 'ash', 'csh', 'tcsh', 'busybox', 'cmd', 'powershell', 'pwsh', 'python', 'python3', 'perl', 'ruby', 'php', 'node', 'lua',
]);

/**
 * Finds argument injection (CWE-88) in a value that starts with an option, for apps that pass the value as
 * arguments of `curl`, `wget`, `ssh`, `git`, `tar`, `find`, `zip`, `rsync`, `sendmail`. Any of its options
 * (first 1 KiB) counts when it runs a program and has a value (`--upload-pack=touch /tmp/x`,
 * `-oProxyCommand=id`, `-exec id ;`, `-c core.pager=id`, `-e sh`), or its value is a file path
 * (`--output=/var/www/x.php`, `-o /tmp/x`, `-d @/etc/passwd`). With `loose` (paranoia 2) any option that
 * carries a value counts (`--color=auto`): generic, and ordinary in CLI-minded fields. A bare flag
 * (`--verbose`) never counts. Linear: each option is read once.
 */
export function findArgInjection(input: string, loose: boolean): string | null {
  let i = 0;
  while (i < input.length && i < 8 && (input.charCodeAt(i) === 0x20 || input.charCodeAt(i) === 0x22 || input.charCodeAt(i) === 0x27)) i++;
  if (input.charCodeAt(i) !== 0x2d) return null; // cheap guard: most values do not start with `-`
  const s = lowerAscii(input.length > 1024 ? input.slice(0, 1024) : input);
  for (;;) {
    const o = readOption(s, i);
    if (o !== null) {
      if (judgeOption(o, loose)) return 'option ' + clip(s.slice(i, o.end), 48);
      i = o.end;
    }
    const sp = s.indexOf(' -', i); // the next word that starts with `-`
    if (sp === -1) return null;
    i = sp + 1;
  }
}

/** The judgement of {@link findArgInjection} on one option: true when it is an attack. */
function judgeOption(o: OptionAt, loose: boolean): boolean {
  if (o.value === '') return false;
  const eq = o.value.indexOf('=');
  const key = eq === -1 ? '' : o.value.slice(0, eq);
  for (const w of EXEC_OPTION_WORDS) if (o.name.includes(w) || (key !== '' && key.includes(w))) return true;
  const v = eq === -1 ? o.value : o.value.slice(eq + 1);
  // a path for an option that writes or reads a file (`-o /tmp/x`); a path for any other option (`-v /data:/data`
  // of a docker-args field) only at paranoia 2
  return loose || (fileLike(v) && fileOption(o.name)) || SHELL_VALUES.has(v);
}

/** `932220`: argument injection — a value that is an executing or file-writing option (PL1). */
const argInjection: PartRule = {
  kind: 'part',
  id: '932220',
  name: 'rce-argument-injection',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-88'],
  targets: ['query', 'form', 'json', 'multipart', 'xml'],
  transforms: CHAINS,
  needs: '-', // every scanned option starts with a dash
  match(input) {
    return findArgInjection(input, false);
  },
};

/** `932221`: the generic form — any option with a value (`-n 5`, `--color=auto`) at the start (PL2). */
const argInjectionLoose: PartRule = {
  kind: 'part',
  id: '932221',
  name: 'rce-argument-injection-generic',
  category: 'cmdi',
  severity: 'warning',
  paranoia: 2,
  tags: [...TAGS, 'CWE-88'],
  targets: ['query', 'form', 'json', 'multipart', 'xml'],
  transforms: CHAINS,
  needs: '-', // every scanned option starts with a dash
  match(input) {
    return findArgInjection(input, true);
  },
};

/** Windows launchers and environment variables used in injected command lines (LOLBAS). */
const WIN_MARKERS: readonly string[] = [
  'cmd /c', 'cmd.exe /c', 'cmd /k', 'cmd.exe /k', 'powershell -', 'powershell.exe -', 'pwsh -', 'powershell iex',
  'powershell invoke-', '%comspec%', '%systemroot%', '%windir%', 'invoke-expression', 'iex(new-object',
  'new-object net.webclient', 'downloadstring(', 'start-process ', 'certutil -urlcache', 'bitsadmin /transfer',
  '$env:comspec', 'wmic process call create',
];

/** Anchors that must occur (lower-case) before the Windows markers are checked on the `cmdLine` form. */
const WIN_ANCHORS = new NeedleSet(['cmd', 'comspec', 'wmic', 'powershell', 'pwsh', '%systemroot%', '%windir%', 'invoke-', 'iex', 'new-object', 'downloadstring', 'start-process', 'certutil', 'bitsadmin']);

/** Checks the Windows markers on the `cmdLine` form (quotes, `^` and `\` removed) of `input`. */
function findWindows(input: string): string | null {
  const s = cmdLine(input);
  for (const m of WIN_MARKERS) {
    const i = s.indexOf(m);
    if (i !== -1 && (i === 0 || !isWordChar(s.charCodeAt(i - 1)))) return clip(s.slice(i, i + 48));
  }
  return null;
}

const windows: PartRule = {
  kind: 'part',
  id: '932130',
  name: 'rce-windows-shell',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'platform-windows'],
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'lowercase']],
  pure: true,
  match(input) {
    // cheap anchor scan first; the `cmdLine` normalisation runs only on candidates
    return WIN_ANCHORS.find(input) === null ? null : findWindows(input);
  },
};

/** `932131`: the same with caret/quote obfuscation anywhere (`c^md /c`, `p"ower"shell`), paranoia 2. */
const windowsObfuscated: PartRule = {
  kind: 'part',
  id: '932131',
  name: 'rce-windows-shell-obfuscated',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 2,
  tags: [...TAGS, 'platform-windows'],
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'cmdLine']],
  pure: true,
  match(input) {
    for (const m of WIN_MARKERS) {
      const i = input.indexOf(m);
      if (i !== -1 && (i === 0 || !isWordChar(input.charCodeAt(i - 1)))) return clip(input.slice(i, i + 48));
    }
    return null;
  },
};

const shellshock: PartRule = {
  kind: 'part',
  id: '932140',
  name: 'rce-shellshock',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CVE-2014-6271'],
  targets: [...CMDI_TARGETS, 'header'],
  transforms: [['urlDecodeRepeat']],
  needs: '(', // the `()` scan of match
  pure: true,
  match(input) {
    // `() {` followed by `:;}` or any body: a bash function definition smuggled through the environment.
    let i = input.indexOf('()');
    while (i !== -1) {
      let k = i + 2;
      while (k < input.length && input.charCodeAt(k) === 0x20) k++;
      if (input.charCodeAt(k) === 0x7b) {
        let j = i - 1;
        while (j >= 0 && input.charCodeAt(j) === 0x20) j--;
        if (j < 0 || input.charCodeAt(j) === 0x3d || input.charCodeAt(j) === 0x22 || input.charCodeAt(j) === 0x27) return clip(input.slice(i, i + 32));
      }
      i = input.indexOf('()', i + 2);
    }
    return null;
  },
};

/**
 * Cheap pre-check for the start-of-value rules: the first token, with quotes, `\`, `^` removed (so `c''at`,
 * `c\at`, `w^hoami` still count), is a known command, or the value starts with a path or brace.
 */
function firstTokenMayBeCommand(input: string): boolean {
  let i = 0;
  const n = input.length;
  for (; i < n; i++) {
    const c = input.charCodeAt(i);
    if (!(c === 0x20 || c === 0x0a || c === 0x0d || c === 0x27 || c === 0x22 || c === 0x28 || c === 0x40 || c === 0x21)) break;
  }
  const c0 = input.charCodeAt(i);
  if (c0 === 0x2f || c0 === 0x7b || c0 === 0x5c) return true;
  let w = '';
  for (; i < n && w.length < 16; i++) {
    const c = input.charCodeAt(i);
    if (c === 0x27 || c === 0x22 || c === 0x5c || c === 0x5e) continue;
    if (!(isWordChar(c) || c === 0x2e || c === 0x2d)) break;
    w += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  if (w.endsWith('.exe')) w = w.slice(0, -4);
  return COMMANDS.has(w);
}

const wholeValue: PartRule = {
  kind: 'part',
  id: '932150',
  name: 'rce-value-is-command-line',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: ['query', 'form', 'json', 'cookie', 'multipart', 'xml'],
  transforms: CHAINS,
  match(input) {
    if (input.length < 2 || input.length > 4096) return null;
    // a value opening with ANSI-C quoting (`$'\x69\x64'`) is shell syntax: its command is judged as after `;`
    const ansi = input.charCodeAt(0) === 0x24 && input.charCodeAt(1) === 0x27;
    if (!ansi && !firstTokenMayBeCommand(input)) return null;
    const s = norm(input);
    let i = 0;
    while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x0a || s.charCodeAt(i) === 0x0d)) i++;
    return judgeAt(s, i, !ansi || i === s.length);
  },
};

const startsWithCommand: PartRule = {
  kind: 'part',
  id: '932160',
  name: 'rce-value-starts-with-command',
  category: 'cmdi',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: ['query', 'form', 'json', 'cookie', 'multipart'],
  transforms: CHAINS,
  match(input) {
    if (!firstTokenMayBeCommand(input)) return null;
    const s = norm(input).trimStart();
    const cmd = readCommand(s, 0);
    if (cmd === null || !COMMANDS.has(cmd.word)) return null;
    return cmd.end < s.length && s.charCodeAt(cmd.end) === 0x20 ? 'command ' + cmd.word : null;
  },
};

/** PHP code markers: open tags, superglobals, complex (curly) syntax (OWASP CRS 933100/933130/933200). */
const PHP_MARKERS: readonly string[] = [
  '<?php', '$_get[', '$_post[', '$_request[', '$_cookie[', '$_server[', '$_files[', '$_env[', '$_session[',
  '$globals[', '{${', '${@', 'php://input',
];

/** {@link PHP_MARKERS} as one dispatch set: a single pass tells whether any marker occurs at all. */
const PHP_MARKER_SET = new NeedleSet(PHP_MARKERS);

const phpCode: PartRule = {
  kind: 'part',
  id: '933100',
  name: 'php-code-injection',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: PHP_TAGS,
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: needsFrom(PHP_MARKERS, '<${:'), // only a marker matches
  pure: true,
  match(input) {
    // one pass instead of 13 `indexOf` scans on the (usual) values without any marker; with one, the list order
    // below decides which marker is reported
    if (PHP_MARKER_SET.find(input) === null) return null;
    for (const m of PHP_MARKERS) {
      const i = input.indexOf(m);
      if (i !== -1) return clip(input.slice(i, i + 48));
    }
    return null;
  },
};

/** Code-execution functions of PHP, Perl, Python and Ruby (OWASP CRS `php-function-names-933150.data`, abridged). */
const EXEC_FUNCS: ReadonlySet<string> = new Set([
  'system', 'exec', 'shell_exec', 'passthru', 'popen', 'proc_open', 'pcntl_exec', 'eval', 'assert', 'phpinfo',
  'phpversion', 'create_function', 'call_user_func', 'preg_replace', 'file_put_contents', 'fopen', 'readfile',
  'os.system', 'os.popen', 'subprocess.popen', 'subprocess.call', 'subprocess.check_output',
  'runtime.getruntime', '__import__', 'spawn', 'sleep', 'usleep', 'base64_decode', 'gzinflate', 'str_rot13',
]);

/** Functions that are an attack only with a quoted/variable argument (common words otherwise). */
const WEAK_FUNCS = new Set(['sleep', 'usleep', 'assert', 'eval', 'exec', 'system', 'spawn', 'fopen']);

/**
 * Finds a call of an {@link EXEC_FUNCS} function with argument evidence: for each `(`, the dotted identifier
 * before it (bounded to 32 characters) is looked up. Linear.
 */
export function findExecCall(input: string): string | null {
  for (let p = input.indexOf('('); p !== -1; p = input.indexOf('(', p + 1)) {
    let e = p;
    while (e > 0 && input.charCodeAt(e - 1) === 0x20 && p - e < 4) e--;
    let b = e;
    while (b > 0 && e - b < 32 && (isWordChar(input.charCodeAt(b - 1)) || input.charCodeAt(b - 1) === 0x2e)) b--;
    if (b === e) continue;
    if (b > 0) {
      const pc = input.charCodeAt(b - 1);
      if (pc === 0x2d) continue; // `foo-system(`
    }
    const f = input.slice(b, e);
    if (!EXEC_FUNCS.has(f)) continue;
    let k = p + 1;
    while (k < input.length && input.charCodeAt(k) === 0x20) k++;
    const a = input.charCodeAt(k);
    // argument evidence: a string literal, a variable, a nested call, or an empty call for info functions
    const strong = a === 0x27 || a === 0x22 || a === 0x24 || a === 0x60;
    const empty = a === 0x29 && (f === 'phpinfo' || f === 'phpversion');
    let nested = false;
    if (!strong && !empty && isAlpha(a)) {
      let q = k;
      while (q < input.length && q - k < 64 && (isWordChar(input.charCodeAt(q)) || input.charCodeAt(q) === 0x2e)) q++;
      nested = input.charCodeAt(q) === 0x28 && !WEAK_FUNCS.has(f);
    }
    if (strong || empty || nested) return clip(input.slice(b, b + 48));
    if ((f === 'sleep' || f === 'usleep') && isDigit(a)) {
      // `sleep(5)` alone is common in code snippets; require an injection context right before it
      const pre = input.slice(Math.max(0, b - 3), b);
      if (pre.includes(';') || pre.includes('|') || pre.includes('&') || pre.includes('{') || pre.includes("'")) return clip(input.slice(b, b + 48));
    }
  }
  return null;
}

const phpFunc: PartRule = {
  kind: 'part',
  id: '933110',
  name: 'php-perl-python-exec-function-call',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: PHP_TAGS,
  targets: CMDI_TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase']],
  needs: '(', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('(') === -1) return null;
    return findExecCall(input);
  },
};

/**
 * Finds a PHP serialized object (`O:8:"stdClass":1:{…}`, also `C:` custom-serialized) — the input of PHP
 * object injection (CWE-502, OWASP CRS 933 "PHP Object Injection"). Linear: each `O:`/`C:` is read once.
 */
export function findPhpObject(s: string): string | null {
  for (let i = s.indexOf(':'); i !== -1; i = s.indexOf(':', i + 1)) {
    const t = s.charCodeAt(i - 1);
    if (t !== 0x4f && t !== 0x43) continue; // `O` or `C`
    if (i >= 2 && isWordChar(s.charCodeAt(i - 2))) continue;
    let k = i + 1;
    if (s.charCodeAt(k) === 0x2b || s.charCodeAt(k) === 0x20) k++; // `O:+8:` evasion (`+` may arrive as a space)
    const d0 = k;
    while (k < s.length && k - d0 < 6 && isDigit(s.charCodeAt(k))) k++;
    if (k === d0 || s.charCodeAt(k) !== 0x3a || s.charCodeAt(k + 1) !== 0x22) continue;
    const len = Number(s.slice(d0, k));
    const nameStart = k + 2;
    const nameEnd = nameStart + len;
    if (len === 0 || len > 128 || s.charCodeAt(nameEnd) !== 0x22 || s.charCodeAt(nameEnd + 1) !== 0x3a) continue;
    return clip(s.slice(i - 1, nameEnd + 8));
  }
  return null;
}

const phpObject: PartRule = {
  kind: 'part',
  id: '933120',
  name: 'php-object-injection',
  category: 'cmdi',
  severity: 'critical',
  paranoia: 1,
  tags: [...PHP_TAGS, 'CWE-502'],
  targets: [...CMDI_TARGETS, 'cookie'],
  // the base64 form of the raw value (what a `base64Decode` chain would give) is decoded in `match`, only for
  // values whose decoded bytes can hold `:` and `"`
  transforms: [['urlDecodeRepeat']],
  match(input, part) {
    if (input.indexOf(':"') !== -1) {
      const r = findPhpObject(input);
      if (r !== null) return r;
    }
    const b = base64DecodeIfPair(part.value, 0x3a, 0x22);
    if (b === null || b === input) return null;
    const r = findPhpObject(b);
    return r === null ? null : { matched: r, transformed: b };
  },
};

/** The command-injection and PHP-injection rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [
  separated, substitution, glob, windows, windowsObfuscated, shellshock, wholeValue, startsWithCommand, ifs, netRedirect, sliceExpansion,
  argInjection, argInjectionLoose, phpCode, phpFunc, phpObject,
];
