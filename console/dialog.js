import { el } from './dom.js';

/**
 * A modal confirmation. With `reason`, a non-empty reason is required before the confirm
 * button works. Resolves `{ reason }` when confirmed, `undefined` when cancelled.
 */
export function confirmDialog({ title, message, confirm, reason = false, danger = true }) {
  return new Promise((resolve) => {
    const input = reason
      ? el('textarea', {
          id: 'dialog-reason',
          name: 'reason',
          rows: '3',
          required: true,
          placeholder: 'Why (recorded in the audit trail)',
          'data-testid': 'dialog-reason',
        })
      : undefined;
    const ok = el(
      'button',
      {
        type: 'submit',
        class: danger ? 'danger' : '',
        'data-testid': 'dialog-confirm',
        disabled: reason,
      },
      confirm,
    );
    const cancel = el(
      'button',
      { type: 'button', class: 'quiet', 'data-testid': 'dialog-cancel' },
      'Cancel',
    );
    const form = el(
      'form',
      { method: 'dialog' },
      el('h2', {}, title),
      el('p', { 'data-testid': 'dialog-message' }, message),
      input && el('label', { for: 'dialog-reason' }, 'Reason (required)'),
      input,
      el('div', { class: 'buttons' }, cancel, ok),
    );
    const dialog = el('dialog', { 'data-testid': 'dialog' }, form);
    const finish = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    input?.addEventListener('input', () => {
      ok.disabled = input.value.trim() === '';
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (input !== undefined && input.value.trim() === '') return;
      finish({ reason: input?.value.trim() });
    });
    cancel.addEventListener('click', () => finish(undefined));
    dialog.addEventListener('cancel', () => resolve(undefined));
    document.body.append(dialog);
    dialog.showModal();
    (input ?? ok).focus();
  });
}
