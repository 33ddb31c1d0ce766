/**
 * SVG → PNG with resvg (Rust, shipped as a prebuilt npm binary; no browser). Loaded on first
 * use, so a server that never draws never loads it. Text uses the system's fonts.
 */
export async function svgToPng(svg: string, width?: number): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    ...(width ? { fitTo: { mode: 'width' as const, value: width } } : {}),
  });
  return r.render().asPng();
}
