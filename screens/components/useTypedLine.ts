// A line typed into a dialog (the sudo password, a device's name): kept in a ref so fast typing loses no key.
import { useInput } from 'ink';
import { useRef, useState } from 'react';

export function useTypedLine(o: { onEnter: (text: string) => void; onEscape: () => void; clearOnEnter?: boolean }): string {
  const buf = useRef('');
  const [, redraw] = useState(0);
  useInput((input, key) => {
    if (key.ctrl && input === 'c') return;
    if (key.escape) return o.onEscape();
    if (key.return) {
      const text = buf.current;
      if (o.clearOnEnter) buf.current = '';
      redraw((n) => n + 1);
      return o.onEnter(text);
    }
    if (key.backspace || key.delete) buf.current = buf.current.slice(0, -1);
    else if (key.ctrl && input === 'u') buf.current = '';
    else if (!key.ctrl && !key.meta) buf.current += input.replace(/[\r\n\t\x00-\x1f\x7f]/g, '');
    redraw((n) => n + 1);
  });
  return buf.current;
}
