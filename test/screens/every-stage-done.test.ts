// "Every available stage is done" is said only when it is true: never while a stage failed or runs, and a stage
// that waits for one not available yet is named instead of counted as done.
import { describe, expect, it } from 'vitest';
import { initialSnapshot, type StageView } from '../../src/app/wizard/store.ts';
import { everyStageDone } from '../../screens/Stage.tsx';

const stage = (id: StageView['id'], status: StageView['status'], requires: StageView['id'][] = []): StageView => ({ id, title: id, summary: '', status, requires, options: [] });

function snap(stages: StageView[], run: 'idle' | 'running' | 'failed' = 'idle') {
  const s = initialSnapshot({ lab: true, stateDir: '/nonexistent' }, stages);
  return { ...s, run: { ...s.run, state: run } };
}

describe('every stage done', () => {
  const journey = [
    stage('flash', 'done'),
    stage('configure', 'done'),
    stage('packages', 'unavailable'),
    stage('control-plane', 'not-started', ['packages']),
    stage('workers', 'not-started', ['control-plane']),
    stage('readonly', 'done', ['control-plane']),
  ];

  it('names the stages that wait for one not available yet', () => {
    expect(everyStageDone(snap(journey))).toBe('Every stage that can run now is done; control-plane, workers wait for a stage not available yet. Press s for the summary.');
  });

  it('says every available stage is done only when each is', () => {
    const all = [stage('flash', 'done'), stage('configure', 'done'), stage('packages', 'unavailable'), stage('readonly', 'done')];
    expect(everyStageDone(snap(all))).toBe('Every available stage is done. Press s for the summary.');
    expect(everyStageDone(snap([...all.slice(0, 3), stage('readonly', 'cancelled')]))).toBeUndefined();
  });

  it('says nothing while a run goes on or after it failed', () => {
    expect(everyStageDone(snap(journey, 'running'))).toBeUndefined();
    expect(everyStageDone(snap(journey, 'failed'))).toBeUndefined();
  });
});
