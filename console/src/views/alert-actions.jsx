// What a dispatcher does with an active alert: expand its area (drawing the extra part and seeing
// how many new participants it reaches), send an update, close it with an outcome and a closing
// message. What they type is kept as a draft until it is sent.

import { useEffect, useRef, useState } from "preact/hooks";
import { post } from "../api.js";
import { t } from "../i18n.js";
import { areaSummary } from "../map.js";
import { dropDraft, loadDraft, saveDraft } from "../drafts.js";
import { ErrorBox, Field, useSubmit } from "../components.jsx";
import { ReachTable } from "./reach.jsx";

const OUTCOMES = ["hard_success", "soft_success", "no_result", "cancelled"];

function useDraft(name, empty) {
  const [value, setValue] = useState(() => loadDraft(name) ?? empty);
  useEffect(() => saveDraft(name, value), [value]);
  return [value, setValue, () => (dropDraft(name), setValue(empty))];
}

const messageTexts = (texts) => ({
  nl: { message: texts.nl.trim() },
  en: texts.en.trim() ? { message: texts.en.trim() } : null,
});

export function AlertActions({ alert, map, onDone }) {
  const [open, setOpen] = useState(null); // "expand" | "update" | "close"
  return (
    <section aria-labelledby="actions-heading" class="actions">
      <h2 id="actions-heading" class="visually-hidden">
        {t("expand")} / {t("update")} / {t("close_alert")}
      </h2>
      <div class="buttons" role="group">
        {["expand", "update", "close"].map((action) => (
          <button
            key={action}
            type="button"
            id={`action-${action}`}
            aria-expanded={open === action}
            onClick={() => setOpen(open === action ? null : action)}
          >
            {t(action === "close" ? "close_alert" : action)}
          </button>
        ))}
      </div>
      {open === "expand" && <Expand alert={alert} map={map} onDone={() => (setOpen(null), onDone())} />}
      {open === "update" && <Update alert={alert} onDone={() => (setOpen(null), onDone())} />}
      {open === "close" && <Close alert={alert} onDone={() => (setOpen(null), onDone())} />}
    </section>
  );
}

function Expand({ alert, map, onDone }) {
  const [area, setArea] = useState(null);
  const [reach, setReach] = useState({ value: null, error: null });
  const round = useRef(0);
  useEffect(() => {
    map.current?.enableDrawing(setArea);
    return () => map.current?.disableDrawing();
  }, []);
  const areaKey = JSON.stringify(area);
  useEffect(() => {
    if (!area) return setReach({ value: null, error: null });
    const mine = ++round.current;
    const timer = setTimeout(async () => {
      try {
        const value = await post(`/v1/alerts/${alert.id}/expansion-preview`, { area });
        if (mine === round.current) setReach({ value, error: null });
      } catch (failure) {
        if (mine === round.current) setReach({ value: null, error: failure });
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [areaKey]);
  const { submit, busy, error } = useSubmit(() => post(`/v1/alerts/${alert.id}/expansions`, { area }), onDone);
  return (
    <form onSubmit={submit} class="action-form" id="expand-form">
      <p>{t("expand_help")}</p>
      <div class="buttons">
        <button type="button" onClick={() => map.current?.startDrawing("Circle")}>
          {t("draw_circle")}
        </button>
        <button type="button" id="expand-draw-polygon" onClick={() => map.current?.startDrawing("Polygon")}>
          {t("draw_polygon")}
        </button>
      </div>
      <p id="expansion-summary">{areaSummary(area)}</p>
      <div aria-live="polite" id="expansion-reach">
        <ErrorBox error={reach.error} />
        {reach.value && <ReachTable reach={reach.value} newOnly />}
      </div>
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={!area || busy}>
        {t("expand_confirm")}
      </button>
    </form>
  );
}

function Update({ alert, onDone }) {
  const [texts, setTexts, drop] = useDraft(`update-${alert.id}`, { nl: "", en: "" });
  const { submit, busy, error } = useSubmit(
    () => post(`/v1/alerts/${alert.id}/updates`, { texts: messageTexts(texts) }),
    () => (drop(), onDone()),
  );
  return (
    <form onSubmit={submit} class="action-form" id="update-form">
      <MessageFields texts={texts} setTexts={setTexts} prefix="update" />
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>
        {t("update")}
      </button>
    </form>
  );
}

function Close({ alert, onDone }) {
  const [closing, setClosing, drop] = useDraft(`close-${alert.id}`, { outcome: "", nl: "", en: "" });
  const { submit, busy, error } = useSubmit(
    () => post(`/v1/alerts/${alert.id}/close`, { outcome: closing.outcome, texts: messageTexts(closing) }),
    () => (drop(), onDone()),
  );
  return (
    <form onSubmit={submit} class="action-form" id="close-form">
      <Field id="close-outcome" label={t("outcome")}>
        <select id="close-outcome" required value={closing.outcome} onChange={(event) => setClosing({ ...closing, outcome: event.currentTarget.value })}>
          <option value="">{t("none_chosen")}</option>
          {OUTCOMES.map((outcome) => (
            <option key={outcome} value={outcome}>
              {t(`outcome_${outcome}`)}
            </option>
          ))}
        </select>
      </Field>
      <MessageFields texts={closing} setTexts={setClosing} prefix="close" label={t("closing_message")} />
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>
        {t("close_confirm")}
      </button>
    </form>
  );
}

function MessageFields({ texts, setTexts, prefix, label }) {
  return (
    <>
      <Field id={`${prefix}-nl`} label={`${label ?? t("message")} (NL)`}>
        <textarea id={`${prefix}-nl`} rows={3} maxLength={1000} required value={texts.nl} onInput={(event) => setTexts({ ...texts, nl: event.currentTarget.value })} />
      </Field>
      <Field id={`${prefix}-en`} label={`${label ?? t("message")} (EN)`}>
        <textarea id={`${prefix}-en`} rows={2} maxLength={1000} value={texts.en} onInput={(event) => setTexts({ ...texts, en: event.currentTarget.value })} />
      </Field>
    </>
  );
}
