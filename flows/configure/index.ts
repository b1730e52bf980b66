// The configure stage: first boot over SSH. Steps run on every board in parallel.
import type { Stage } from '../../src/engine/types.ts';
import { connectStep } from './connect.ts';

export const configureStage: Stage = {
  id: 'configure',
  title: 'Configure the boards',
  summary: 'Reach every board over SSH and prepare it for Kubernetes.',
  requires: [],
  steps: [connectStep],
};
