import { svgToPng } from '../analysis/png.js';
import type { Attachment } from '../results/tool-result.js';

export interface PictureRef {
  name: string;
  kind: string;
  uri: string;
  frames?: number;
}

/** A picture as attachments: the SVG always (searchable in a browser), its PNG when asked for. */
export async function pictureAttachments(
  scope: string,
  p: { name: string; kind: string; svg: string; frames?: number },
  png: boolean,
): Promise<{ ref: PictureRef; attachments: Attachment[] }> {
  const uri = `mcptrace://analysis/${encodeURIComponent(scope)}/${p.name}`;
  const attachments: Attachment[] = [{ name: p.name, mimeType: 'image/svg+xml', uri, text: p.svg }];
  if (png) {
    const pngName = p.name.replace(/\.svg$/, '.png');
    attachments.push({ name: pngName, mimeType: 'image/png', uri: uri.replace(/\.svg$/, '.png'), data: await svgToPng(p.svg) });
  }
  return { ref: { name: p.name, kind: p.kind, uri, ...(p.frames !== undefined ? { frames: p.frames } : {}) }, attachments };
}
