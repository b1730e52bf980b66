// The wizard's controller and what the screens read from it. The code lives in ./wizard/, one module per job
// (store, logs, draft, inventory, keys, saved, options, runs, views, controller ...); this file keeps the one
// import path the screens and tests use.
export { WizardController, type WizardOptions } from './wizard/controller.ts';
export { splitFix } from './wizard/errors.ts';
export { cleanLine, RingBuffer } from './wizard/logs.ts';
export { draftFromSpec, draftToRaw, fieldOfProblem, hasInventoryRow } from './wizard/draft.ts';
export { createSshKey, labKeyPath } from './wizard/keys.ts';
export {
  DRAFT_FIELDS,
  type CellStatus,
  type CommandsView,
  type Dialog,
  type Draft,
  type DraftField,
  type KeyState,
  type RunView,
  type SavedCluster,
  type ScreenId,
  type StageView,
  type StepCell,
  type StepView,
  type WizardSnapshot,
} from './wizard/store.ts';
