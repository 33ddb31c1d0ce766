/**
 * SVG → PNG with resvg (Rust, shipped as a prebuilt npm binary; no browser). `renderAsync` draws
 * on libuv's thread pool, so a server keeps answering other calls meanwhile. Loaded on first
 * use: a server that never draws never loads it. Text uses the system's fonts (DejaVu here).
 */
export async function svgToPng(svg: string, width?: number): Promise<Buffer> {
  const { renderAsync } = await import('@resvg/resvg-js');
  const image = await renderAsync(svg, {
    background: '#ffffff',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    ...(width ? { fitTo: { mode: 'width' as const, value: width } } : {}),
  });
  return image.asPng();
}
