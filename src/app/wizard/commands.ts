// "Show commands": the plan of the selected step, the very actions a run of it performs.
import type { Session } from '../session.ts';
import type { SnapshotStore } from './store.ts';

export async function showStepCommands(store: SnapshotStore, s: Session | undefined): Promise<void> {
  const snap = store.snapshot;
  const step = snap.steps[snap.selectedStep];
  const stage = snap.currentStage;
  if (!s || !step) {
    store.set({ commands: { stage, step: '', title: 'nothing to show', loading: false, actions: [], error: 'this stage has no steps yet' } });
    return;
  }
  store.set({ commands: { stage, step: step.id, title: step.title, loading: true, actions: [] } });
  try {
    const all = await s.engine.plan([stage]);
    store.set({ commands: { stage, step: step.id, title: step.title, loading: false, actions: all.filter((a) => a.step === step.id) } });
  } catch (e) {
    store.set({ commands: { stage, step: step.id, title: step.title, loading: false, actions: [], error: (e as Error).message } });
  }
}
