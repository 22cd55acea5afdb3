/** Side-effect CSS imports, which Vite bundles into the page's stylesheet. */
declare module '*.css' {}
