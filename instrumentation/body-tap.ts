/** How the app's read of a response body ended. */
export type TapOutcome = 'complete' | 'cancelled' | 'errored';

export interface TapObserver {
  /** Sees each chunk as it passes; must not throw (a throw is swallowed). */
  chunk(chunk: Uint8Array): void;
  /** Called once, before the app sees the end of the body. */
  end(outcome: TapOutcome): void;
}

/**
 * The same body, observed on the way through. Pull-based with no queue of its own
 * (highWaterMark 0): a chunk is read from the network only when the app asks for one and is
 * handed over at once, so the app's stream is neither buffered nor delayed. `end` runs before
 * the app sees the end, so whatever it records lands before the app (or an SDK's own span)
 * moves on.
 */
export function tapBody(body: ReadableStream<Uint8Array>, observer: TapObserver): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let ended = false;
  const finish = (outcome: TapOutcome): void => {
    if (ended) return;
    ended = true;
    try {
      observer.end(outcome);
    } catch {
      // The observer's problem is never the app's.
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (err) {
          finish('errored');
          controller.error(err);
          return;
        }
        if (result.done) {
          finish('complete');
          controller.close();
          return;
        }
        try {
          observer.chunk(result.value);
        } catch {
          // as above
        }
        controller.enqueue(result.value);
      },
      async cancel(reason) {
        finish('cancelled');
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
