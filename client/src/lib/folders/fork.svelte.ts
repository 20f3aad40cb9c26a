// "Fork from here": the message actions ask, the sidebar (which has the API client and the
// navigation) answers. One handler at a time; none while signed out.
export type ForkHandler = (chatId: string, messageId: string) => Promise<void>;

export const forking = $state<{ handler: ForkHandler | null }>({ handler: null });

/** Installs the handler; returns its removal (an `$effect` cleanup). */
export function provideFork(handler: ForkHandler): () => void {
  forking.handler = handler;
  return () => {
    if (forking.handler === handler) forking.handler = null;
  };
}
