// Types for locate.js (plain JS so the install script can run it before anything is built).
export class AddonError extends Error {}
export function platformName(): string;
export function locate(root: string): string | null;
export function load(root: string): unknown;
export function missingLine(root: string): string;
export function failedLine(root: string, file: string, e: unknown): string;
