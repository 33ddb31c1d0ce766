/**
 * A minimal MCP Apps host for the tests: ext-apps' own AppBridge renders a view's ui:// HTML in
 * a sandboxed iframe (no same-origin, as real hosts do), hands it the tool's input and result,
 * and relays the view's tool calls to window.mcpCallTool, which the test binds to a real MCP
 * client connected to a real `mcptrace serve`.
 */
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';

declare global {
  interface Window {
    mcpCallTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
    openView(html: string, input: Record<string, unknown>, result: unknown, theme?: 'light' | 'dark'): Promise<void>;
    toolCalls: string[];
  }
}

window.toolCalls = [];
window.openView = async (html, input, result, theme = 'light') => {
  const iframe = document.getElementById('view') as HTMLIFrameElement;
  const bridge = new AppBridge(null, { name: 'mcptrace-test-host', version: '1.0.0' }, { serverTools: {}, logging: {} }, { hostContext: { theme } });
  bridge.oncalltool = async (params) => {
    window.toolCalls.push(params.name);
    return (await window.mcpCallTool(params)) as never;
  };
  const initialized = new Promise<void>((resolve) => (bridge.oninitialized = () => resolve()));
  // Listening before the view loads: it says hello as soon as its script runs. The iframe's
  // WindowProxy stays the same object across the navigation to srcdoc.
  await bridge.connect(new PostMessageTransport(iframe.contentWindow!, iframe.contentWindow!));
  iframe.srcdoc = html;
  await initialized;
  await bridge.sendToolInput({ arguments: input });
  await bridge.sendToolResult(result as never);
};
