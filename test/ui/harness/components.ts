// The components under test, put on window for test/ui/components.test.ts to drive with page.evaluate.
import '../../../ui/src/style.css';
import { renderHistogram, renderSeries, renderTopKeys } from '../../../ui/src/charts/charts';
import { renderFlameGraph } from '../../../ui/src/flame/flamegraph';
import { diffTree, parseFolded } from '../../../ui/src/flame/folded';

// The views take their theme as data-theme (ui/src/host.ts); here it follows the emulated colour scheme.
const scheme = matchMedia('(prefers-color-scheme: dark)');
const theme = () => (document.documentElement.dataset.theme = scheme.matches ? 'dark' : 'light');
scheme.addEventListener('change', theme);
theme();

Object.assign(window, { renderFlameGraph, renderHistogram, renderSeries, renderTopKeys, parseFolded, diffTree });
