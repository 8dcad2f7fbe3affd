import { discoverySchema } from './discovery/schema.ts';
import { positiveModelSchema } from './positive/schema.ts';
import { geoSchema } from './geo/schema.ts';
import { baselinesSchema } from './baseline/schema.ts';
import { anomalyModelSchema } from './iforest/schema.ts';
import { riskSchema } from './risk/schema.ts';

/**
 * The model sub-objects of `behavior:` (API discovery, positive security model, GeoIP/ASN, statistical
 * baselines, Isolation Forest, risk), spread into `behaviorSchema`. Each has full defaults.
 */
export const modelsShape = {
  discovery: discoverySchema,
  positiveModel: positiveModelSchema,
  geo: geoSchema,
  baselines: baselinesSchema,
  anomalyModel: anomalyModelSchema,
  risk: riskSchema,
};
