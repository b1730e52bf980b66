// The sudo password: typed masked, handed to the controller (memory only), never shown or saved.
import { Text } from 'ink';
import { useController, useWizard } from '../context.ts';
import { useTypedLine } from './useTypedLine.ts';
import { Dialog } from './Dialog.tsx';
import { T } from './T.tsx';

export function PasswordDialog({ width }: { width: number }) {
  const c = useController();
  const s = useWizard();
  const typed = useTypedLine({ onEnter: (t) => c.setSudoPassword(t), onEscape: () => c.setSudoPassword(undefined) });
  const user = s.cluster?.ssh.user ?? 'the login';
  return (
    <Dialog title={`sudo password of ${user} on the boards`} width={width}>
      <T wrap>Kept in memory for this session only: never saved, never logged, never on a command line. Enter an empty password to forget it.</T>
      <Text>{`> ${'•'.repeat(typed.length)}▌`}</Text>
      <T tone="muted">Enter: use it · Esc: cancel</T>
    </Dialog>
  );
}
