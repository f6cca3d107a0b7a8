// Placeholder: this part is built in a later issue (see the README's roadmap).
export const partName = 'dashboard';
