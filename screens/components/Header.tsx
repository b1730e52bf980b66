// Top line: cluster, Kubernetes version, and whether this is real boards or the practice lab.
import { Box, Text } from 'ink';
import { useUi, useWizard } from '../context.ts';
import { fit } from '../theme.ts';

export function Header() {
  const s = useWizard();
  const { colors, layout } = useUi();
  const name = s.cluster?.name ?? (s.screen === 'inventory' ? s.draft.name || 'new cluster' : 'no cluster open');
  const version = s.cluster?.kubernetesVersion ?? (s.screen === 'inventory' ? s.draft.kubernetesVersion : '');
  const mode = s.mode === 'lab' ? 'practice lab' : 'real boards';
  const parts = ['boardkube', name, version ? `Kubernetes ${version}` : '', mode].filter(Boolean);
  const text = fit(` ${parts.join(' │ ')} `, layout.columns);
  return (
    <Box width={layout.columns} height={1}>
      <Text bold inverse={colors} wrap="truncate-end">
        {text + ' '.repeat(Math.max(0, layout.columns - text.length))}
      </Text>
    </Box>
  );
}
