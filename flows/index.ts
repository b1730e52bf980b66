// The journey, in order. A new stage: a folder under flows/ exporting a Stage, then one line here.
import type { Stage } from '../src/engine/types.ts';
import { ciStage } from './ci/index.ts';
import { configureStage } from './configure/index.ts';
import { controlPlaneStage } from './control-plane/index.ts';
import { flashStage } from './flash/index.ts';
import { packagesStage } from './packages/index.ts';
import { readonlyStage } from './readonly/index.ts';
import { registryStage } from './registry/index.ts';
import { ttlStage } from './ttl/index.ts';
import { webhookStage } from './webhook/index.ts';
import { workersStage } from './workers/index.ts';

export const STAGES: readonly Stage[] = [
  flashStage,
  configureStage,
  packagesStage,
  controlPlaneStage,
  workersStage,
  ttlStage,
  webhookStage,
  registryStage,
  ciStage,
  readonlyStage,
];
