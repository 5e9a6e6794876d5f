import { svg } from './dom.js';

const WIDTH = 600;
const HEIGHT = 120;
const PAD = 4;

/**
 * A bar-pair chart of issuance and revocations per bucket, drawn as plain SVG from numbers
 * only (no text from the data reaches it but the series names).
 */
export function issuanceChart(buckets) {
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.issued, b.revoked)));
  const slot = (WIDTH - PAD * 2) / Math.max(1, buckets.length);
  const bar = Math.max(1, slot / 2 - 1);
  const scale = (n) => ((HEIGHT - PAD * 2) * n) / max;
  const bars = buckets.flatMap((b, i) => {
    const x = PAD + i * slot;
    return [
      svg('rect', {
        class: 'issued',
        x,
        y: HEIGHT - PAD - scale(b.issued),
        width: bar,
        height: scale(b.issued),
      }),
      svg('rect', {
        class: 'revoked',
        x: x + bar,
        y: HEIGHT - PAD - scale(b.revoked),
        width: bar,
        height: scale(b.revoked),
      }),
    ];
  });
  return svg(
    'svg',
    {
      class: 'chart',
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
      preserveAspectRatio: 'none',
      'aria-label': `issuance and revocations over the last minutes, at most ${max} per bucket`,
      'data-max': max,
    },
    svg('line', { class: 'axis', x1: 0, y1: HEIGHT - PAD, x2: WIDTH, y2: HEIGHT - PAD }),
    ...bars,
  );
}
