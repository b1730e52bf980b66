// The controller reaches every screen through context; screens read its snapshot with useSyncExternalStore.
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { WizardController, WizardSnapshot } from '../src/app/wizard.ts';
import type { Layout } from './theme.ts';

export const ControllerContext = createContext<WizardController | null>(null);
export const UiContext = createContext<{ colors: boolean; layout: Layout } | null>(null);

export function useController(): WizardController {
  const c = useContext(ControllerContext);
  if (!c) throw new Error('screens need a WizardController in ControllerContext');
  return c;
}

export function useWizard(): WizardSnapshot {
  const c = useController();
  return useSyncExternalStore(c.subscribe, c.getSnapshot, c.getSnapshot);
}

export function useUi(): { colors: boolean; layout: Layout } {
  const u = useContext(UiContext);
  if (!u) throw new Error('screens need the UiContext');
  return u;
}
