/**
 * Charts with uPlot: a time histogram (bars) and a rate line. Colours come from the theme's CSS
 * variables and follow a theme change; the chart is rebuilt when its data or width changes.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export interface Series {
  label: string;
  values: (number | null)[];
}

/** A time chart: x in seconds since the epoch; `bars` draws a histogram. */
export function TimeChart(props: { x: number[]; series: Series[]; bars?: boolean; height?: number; label: string; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let plot: uPlot | null = null;
    const build = (): void => {
      plot?.destroy();
      const fg = cssVar('--fg');
      const grid = cssVar('--border');
      const colours = [cssVar('--accent'), cssVar('--graph-outside'), cssVar('--graph-pz')];
      const opts: uPlot.Options = {
        width: Math.max(300, el.clientWidth),
        height: props.height ?? 160,
        legend: { show: props.series.length > 1 },
        axes: [
          { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 },
        ],
        series: [
          {},
          ...props.series.map((s, i) => ({
            label: s.label,
            stroke: colours[i % colours.length],
            fill: props.bars ? colours[i % colours.length] : undefined,
            width: props.bars ? 0 : 2,
            paths: props.bars ? uPlot.paths.bars!({ size: [0.9, 60] }) : undefined,
            points: { show: false },
          })),
        ],
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      };
      plot = new uPlot(opts, [props.x, ...props.series.map((s) => s.values)], el);
    };
    build();
    const ro = new ResizeObserver(() => plot?.setSize({ width: Math.max(300, el.clientWidth), height: props.height ?? 160 }));
    ro.observe(el);
    window.addEventListener('firebreak-theme', build);
    return () => {
      ro.disconnect();
      window.removeEventListener('firebreak-theme', build);
      plot?.destroy();
    };
  }, [props.x, props.series, props.bars]);
  return <div ref={box} class="chart" role="img" aria-label={props.label} data-testid={props.testId} />;
}
