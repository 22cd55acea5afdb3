/** The operator token for this tab: typed once, kept in `sessionStorage` (gone when the tab closes). */
const KEY = 'lancash.operatorToken';

export function loadToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}
