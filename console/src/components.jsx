// Small building blocks shared by the views.

import { useEffect, useRef, useState } from "preact/hooks";
import { explain } from "./errors.js";
import { t } from "./i18n.js";
import { shownCount } from "./api.js";

/** An error in words, with its code for support; `role="alert"` so screen readers say it. */
export function ErrorBox({ error, onDismiss }) {
  if (!error) return null;
  const { code, message, detail } = explain(error);
  return (
    <div class="error" role="alert" data-code={code}>
      <p>{message}</p>
      {detail && <p class="detail">{detail}</p>}
      <p class="code">{t("error_code", { code })}</p>
      {onDismiss && (
        <button type="button" class="link" onClick={onDismiss}>
          {t("dismiss")}
        </button>
      )}
    </div>
  );
}

export function Notice({ children }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** A modal dialog (the browser's own <dialog>: focus is kept inside, Escape closes it). */
export function Dialog({ open, title, onClose, children, id }) {
  const ref = useRef(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} id={id} aria-labelledby={id && `${id}-title`} onClose={onClose} onCancel={onClose}>
      <h2 id={id && `${id}-title`}>{title}</h2>
      {children}
    </dialog>
  );
}

export function Field({ label, children, hint, id }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

export function Count({ value }) {
  return <span class="count">{shownCount(value)}</span>;
}

/** `{ "a.b": value }` on a nested object, returning a new object. */
export function setIn(object, path, value) {
  const [head, ...rest] = path.split(".");
  const copy = Array.isArray(object) ? [...object] : { ...(object ?? {}) };
  copy[head] = rest.length ? setIn(copy[head], rest.join("."), value) : value;
  return copy;
}

export function getIn(object, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}

/**
 * A form's submission: `submit` runs `action` (then `onDone`), `busy` while it runs, `error` when
 * it failed. The form's fields are untouched either way, so nothing typed is lost on an error.
 */
export function useSubmit(action, onDone) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
      onDone?.();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { submit, busy, error };
}
