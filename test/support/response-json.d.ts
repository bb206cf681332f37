// Tests read JSON bodies whose shape each assertion checks; `unknown` would only add casts.
declare global {
  interface Body {
    json(): Promise<any>;
  }
  interface Response {
    json(): Promise<any>;
  }
}

export {};
