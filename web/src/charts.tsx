/**
 * ECharts (tree-shaken through `echarts/core`) and the world map. Charts render on canvas; tooltips are
 * HTML, so every formatter escapes its values with {@link esc} (request-derived names such as routes or
 * client IPs never reach the DOM unescaped). The map is `world-atlas` countries-110m TopoJSON converted
 * to GeoJSON with `topojson-client`; features are named by ISO 3166-1 numeric id.
 */
import { BarChart, LineChart, MapChart, PieChart } from 'echarts/charts';
import { GeoComponent, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'preact/hooks';
import { feature } from 'topojson-client';
import atlas from 'world-atlas/countries-110m.json';
import { theme } from './theme.ts';

echarts.use([LineChart, BarChart, PieChart, MapChart, GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, GeoComponent, CanvasRenderer]);

/** Country display names by ISO numeric id (from the atlas). */
export const COUNTRY_NAMES = new Map<string, string>();
let mapReady = false;

/**
 * Rings crossing the antimeridian (Russia's Chukotka, Fiji) would be drawn as stripes across the whole map:
 * clamp their stray points to the side where most of the ring lies (a sliver of distortion, at 110m scale invisible).
 */
function fixAntimeridian(g: any): void {
  const polys: number[][][][] = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  for (const poly of polys) {
    for (const ring of poly) {
      let east = 0, west = 0;
      for (const [lon] of ring) {
        if (lon > 150) east++;
        else if (lon < -150) west++;
      }
      if (east === 0 || west === 0) continue;
      const side = east >= west ? 180 : -180;
      for (const p of ring) if (Math.sign(p[0]) !== Math.sign(side) && Math.abs(p[0]) > 150) p[0] = side;
    }
  }
}

/** Registers the `world` map once. */
export function ensureWorldMap(): void {
  if (mapReady) return;
  const topo = atlas as any;
  const geo = feature(topo, topo.objects.countries) as any;
  // Antarctica takes a third of the height and never matters here.
  geo.features = geo.features.filter((f: any) => f.id !== '010');
  for (const f of geo.features) {
    fixAntimeridian(f.geometry);
    const id = f.id === undefined ? `x-${f.properties.name}` : String(f.id);
    COUNTRY_NAMES.set(id, f.properties.name);
    f.properties = { name: id };
  }
  echarts.registerMap('world', geo);
  mapReady = true;
}

/** Props of {@link Chart}: an ECharts option (replaced on change) and a CSS class for its size. */
export interface ChartProps {
  option: echarts.EChartsCoreOption;
  class?: string;
  label: string;
}

/** An ECharts chart bound to the current theme; resizes with its container. */
export function Chart({ option, class: cls, label }: ChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const inst = useRef<echarts.ECharts | null>(null);
  const dark = theme.value === 'dark';
  useEffect(() => {
    const el = ref.current!;
    const c = echarts.init(el, dark ? 'dark' : undefined, { renderer: 'canvas' });
    inst.current = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      c.dispose();
      inst.current = null;
    };
  }, [dark]);
  useEffect(() => {
    inst.current?.setOption({ backgroundColor: 'transparent', animationDuration: 300, ...option }, { notMerge: true, lazyUpdate: true });
  }, [option, dark]);
  return <div ref={ref} class={`chart ${cls ?? ''}`} role="img" aria-label={label} />;
}
