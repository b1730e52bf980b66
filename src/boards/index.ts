// The board catalogue. A new board: one file beside this one, then one line here.
import type { BoardProfile } from './types.ts';
import { odroidN2, odroidN2Plus } from './odroid-n2.ts';
import { raspberryPi4 } from './raspberry-pi-4.ts';

export type { BoardProfile } from './types.ts';

export const BOARDS: readonly BoardProfile[] = [odroidN2, odroidN2Plus, raspberryPi4];
export const DEFAULT_BOARD = odroidN2;

export function findBoard(id: string): BoardProfile | undefined {
  return BOARDS.find((b) => b.id === id);
}
