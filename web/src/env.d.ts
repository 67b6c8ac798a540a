// Stylesheets imported for their side effect: Vite bundles them into the built CSS file.
declare module '*.css';
