import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * An AsyncLocalStorage context manager whose "nothing active" is the process's root agent run
 * rather than the empty context. The hook cannot wrap the app's main module in `context.with`,
 * so this is how code that never heard of agentloupe (the app, provider SDKs that start their own
 * spans, child_process calls) still runs inside the root run.
 */
export class RootRunContextManager extends AsyncLocalStorageContextManager {
  constructor(private readonly fallback: Context) {
    super();
  }

  override active(): Context {
    const ctx = super.active();
    return ctx === ROOT_CONTEXT ? this.fallback : ctx;
  }
}
