// Erasing a card: the user types the device's name (as the CLI asks on a terminal), never just presses a key.
import { Text } from 'ink';
import { useController, useWizard } from '../context.ts';
import { useTypedLine } from './useTypedLine.ts';
import { Dialog } from './Dialog.tsx';
import { T } from './T.tsx';

export function ConfirmTypedDialog({ width }: { width: number }) {
  const c = useController();
  const s = useWizard();
  const typed = useTypedLine({ onEnter: (t) => void c.confirmTyped(t), onEscape: () => void c.confirmTyped(undefined), clearOnEnter: true });
  const d = s.dialog;
  if (d?.kind !== 'confirm-typed') return null;
  return (
    <Dialog title={`Everything on ${d.what} will be erased`} width={width} t="bad">
      <T wrap>{`Type its name (${d.expect}) to go on. Esc goes back; nothing is touched until the name matches.`}</T>
      <Text>{`> ${typed}▌`}</Text>
      {d.mismatch ? (
        <T tone="bad" wrap>
          {`✗ ${d.mismatch}`}
        </T>
      ) : null}
    </Dialog>
  );
}
