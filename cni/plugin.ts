// The plugin's logic lives in src/agent/cni-plugin.ts, shared with the agent
// (which runs it for the native shim); this entry keeps the plugin's imports short.
export { runPlugin, type PluginIo, type PluginOutcome } from '../src/agent/cni-plugin.js';
