/**
 * The few browser APIs the dashboard uses, typed here so that the page's code is checked by the project's own
 * compiler settings (Node's libraries, no DOM library for the whole program). app.ts declares the globals with
 * these types in its own module scope.
 */
export interface Listenable {
  addEventListener(type: string, fn: (ev: { preventDefault(): void }) => void): void;
}

export interface Element extends Listenable {
  id: string;
  className: string;
  textContent: string | null;
  title: string;
  hidden: boolean;
  value: string;
  readonly clientWidth: number;
  readonly dataset: Record<string, string | undefined>;
  readonly classList: { toggle(name: string, force?: boolean): boolean };
  readonly style: Record<string, string>;
  setAttribute(name: string, value: string): void;
  append(...nodes: Array<Element | string>): void;
  replaceChildren(...nodes: Array<Element | string>): void;
  querySelectorAll(selector: string): ArrayLike<Element>;
}

export interface Document {
  getElementById(id: string): Element | null;
  createElement(tag: string): Element;
}

export interface Window extends Listenable {
  readonly location: { readonly hash: string; readonly host: string; readonly protocol: string; readonly pathname: string; readonly search: string };
  readonly history: { replaceState(state: unknown, title: string, url: string): void };
  readonly sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };
}

export interface BrowserSocket {
  readonly readyState: number;
  onopen: (() => void) | null;
  onmessage: ((ev: { readonly data: unknown }) => void) | null;
  onclose: ((ev: { readonly code: number; readonly reason: string }) => void) | null;
  onerror: (() => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type BrowserSocketConstructor = new (url: string) => BrowserSocket;
