// The sudo password: typed masked, handed to the controller (memory only), never shown or saved.
import { Text, useInput } from 'ink';
import { useRef, useState } from 'react';
import { useController, useWizard } from '../context.ts';
import { Dialog } from './Dialog.tsx';
import { T } from './T.tsx';

export function PasswordDialog({ width }: { width: number }) {
  const c = useController();
  const s = useWizard();
  const buf = useRef('');
  const [, redraw] = useState(0);
  useInput((input, key) => {
    if (key.ctrl && input === 'c') return;
    if (key.escape) return c.setSudoPassword(undefined);
    if (key.return) return c.setSudoPassword(buf.current);
    if (key.backspace || key.delete) buf.current = buf.current.slice(0, -1);
    else if (key.ctrl && input === 'u') buf.current = '';
    else if (!key.ctrl && !key.meta) buf.current += input.replace(/[\r\n\t\x00-\x1f\x7f]/g, '');
    redraw((n) => n + 1);
  });
  const user = s.cluster?.ssh.user ?? 'the login';
  return (
    <Dialog title={`sudo password of ${user} on the boards`} width={width}>
      <T wrap>Kept in memory for this session only: never saved, never logged, never on a command line. Enter an empty password to forget it.</T>
      <Text>{`> ${'•'.repeat(buf.current.length)}▌`}</Text>
      <T tone="muted">Enter: use it · Esc: cancel</T>
    </Dialog>
  );
}
