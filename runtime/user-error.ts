// The one base of the errors a user causes and can fix (a bad option, a
// file that does not compile, an instance that is not there). Its message
// is one line that says what to fix; the CLI prints it as it is, with no
// stack. Anything else that escapes is a bug.
export class UserError extends Error {}
