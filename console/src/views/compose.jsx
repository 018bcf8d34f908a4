// The dispatcher's main screen: the region map to draw on, the reach while drawing, the alert's
// texts and description, and sending with a confirmation that repeats the reach.

import { useEffect, useRef, useState } from "preact/hooks";
import { get, post } from "../api.js";
import { t } from "../i18n.js";
import { areaSummary } from "../map.js";
import { alertPush, alertSms, MAX_SMS_SEGMENTS } from "../sms.js";
import { loadDraft, saveDraft, dropDraft } from "../drafts.js";
import { Count, Dialog, ErrorBox, Field, Notice, getIn, setIn } from "../components.jsx";
import { RegionMap } from "./region-map.jsx";
import { ReachTable } from "./reach.jsx";

const DRAFT = "new-alert";
const CATEGORIES = ["search", "alarm", "engage", "inform"];
const PURPOSES = ["actual", "exercise", "test"];
const CHANNELS = ["push", "sms", "voice", "email"];
const SEXES = ["male", "female", "unknown"];
const VEHICLE_KINDS = ["car", "van", "truck", "motorcycle", "scooter", "bicycle", "other"];
const PERSON_TEXT = ["build", "hair", "skin_colour", "clothing", "particulars"];
const PERSON_NUMBERS = ["age_min", "age_max", "height_cm"];
const VEHICLE_TEXT = ["make", "model", "colour", "licence_plate", "direction"];

function emptyDraft() {
  return {
    category: "search",
    purpose: "actual",
    target_groups: [],
    reach_area: true,
    urgent: true,
    channels: ["push", "sms"],
    texts: { nl: { title: "", message: "", instruction: "" }, en: { title: "", message: "", instruction: "" } },
    call_back_number: "",
    description: { person: {}, vehicle: {}, free_text: "" },
    area: null,
  };
}

const trimmed = (value) => (typeof value === "string" && value.trim() ? value.trim() : null);

function textOf(text) {
  return { title: text.title.trim(), message: text.message.trim(), instruction: trimmed(text.instruction) };
}

function hasEnglish(draft) {
  const en = draft.texts.en;
  return Boolean(trimmed(en.title) || trimmed(en.message) || trimmed(en.instruction));
}

function describedPerson(person) {
  const out = {};
  for (const key of PERSON_TEXT) if (trimmed(person[key])) out[key] = person[key].trim();
  for (const key of PERSON_NUMBERS) if (String(person[key] ?? "").trim() !== "") out[key] = Number(person[key]);
  if (person.sex) out.sex = person.sex;
  return Object.keys(out).length ? out : null;
}

function describedVehicle(vehicle) {
  const out = {};
  for (const key of VEHICLE_TEXT) if (trimmed(vehicle[key])) out[key] = vehicle[key].trim();
  if (vehicle.kind) out.kind = vehicle.kind;
  return Object.keys(out).length ? out : null;
}

/** The draft as `POST /v1/alerts` takes it. */
export function alertRequest(draft) {
  return {
    ...audienceOf(draft),
    urgent: draft.urgent,
    channels: draft.channels,
    area: draft.area,
    texts: { nl: textOf(draft.texts.nl), en: hasEnglish(draft) ? textOf(draft.texts.en) : null },
    call_back_number: trimmed(draft.call_back_number),
    description: {
      person: describedPerson(draft.description.person),
      vehicle: describedVehicle(draft.description.vehicle),
      free_text: trimmed(draft.description.free_text),
    },
  };
}

/** Whom the alert is for, as the draft and the preview both take it (drafts saved before these
 * fields existed are real alerts to the area). */
function audienceOf(draft) {
  return {
    category: draft.category,
    purpose: draft.purpose ?? "actual",
    target_groups: draft.target_groups ?? [],
    reach_area: draft.reach_area ?? true,
  };
}

function reachRequest(draft) {
  return { ...audienceOf(draft), urgent: draft.urgent, channels: draft.channels, area: draft.area };
}

/** A labelled choice of `options`, each shown as its translation `${id}_${option}`. */
function Choice({ id, options, value, onChange }) {
  return (
    <Field id={id} label={t(id)}>
      <select id={id} value={value} onChange={onChange}>
        {options.map((option) => (
          <option key={option} value={option}>
            {t(`${id}_${option}`)}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function ComposeAlert({ member, tiles }) {
  const [draft, setDraft] = useState(() => loadDraft(DRAFT) ?? emptyDraft());
  const [restored] = useState(() => loadDraft(DRAFT) !== null);
  const [regionError, setRegionError] = useState(null);
  const [reach, setReach] = useState({ value: null, error: null, pending: false });
  const [confirm, setConfirm] = useState(null); // { reach, error, sending }
  const [formError, setFormError] = useState(null);
  const map = useRef(null);
  const reachRound = useRef(0);
  const created = useRef(null); // an alert created but not yet sent, when sending failed

  const change = (path, value) => {
    created.current = null;
    setDraft((old) => setIn(old, path, value));
  };
  useEffect(() => saveDraft(DRAFT, draft), [draft]);

  const mapReady = async (consoleMap) => {
    map.current = consoleMap;
    consoleMap.enableDrawing((area) => change("area", area));
    if (draft.area) consoleMap.drawArea(draft.area);
    try {
      const regionMap = await get(`/v1/regions/${encodeURIComponent(member.region)}/map`);
      consoleMap.showRegion(regionMap);
      if (draft.area) consoleMap.drawArea(draft.area);
    } catch (error) {
      setRegionError(error);
    }
  };

  // The reach follows the drawing, debounced; an answer to an older request is dropped.
  const reachKey = JSON.stringify(reachRequest(draft));
  useEffect(() => {
    if (!draft.area) {
      setReach({ value: null, error: null, pending: false });
      return;
    }
    const round = ++reachRound.current;
    setReach((old) => ({ ...old, pending: true }));
    const timer = setTimeout(async () => {
      try {
        const value = await post("/v1/alerts/reach-preview", reachRequest(draft));
        if (round === reachRound.current) setReach({ value, error: null, pending: false });
      } catch (error) {
        if (round === reachRound.current) setReach({ value: null, error, pending: false });
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [reachKey]);

  const openConfirm = async (event) => {
    event.preventDefault();
    setFormError(null);
    if (!draft.area) return setFormError({ code: "invalid_area", message: t("area_none") });
    setConfirm({ reach: null, error: null, sending: false });
    try {
      setConfirm({ reach: await post("/v1/alerts/reach-preview", reachRequest(draft)), error: null, sending: false });
    } catch (error) {
      setConfirm(null);
      setFormError(error);
    }
  };

  const send = async () => {
    setConfirm((old) => ({ ...old, sending: true, error: null }));
    try {
      if (!created.current) created.current = (await post("/v1/alerts", alertRequest(draft))).id;
      await post(`/v1/alerts/${created.current}/send`);
      const id = created.current;
      created.current = null;
      dropDraft(DRAFT);
      window.location.hash = `#/alerts/${id}`;
    } catch (error) {
      // A refused alert was not created: the form shows why and keeps every field.
      if (error.status === 422) created.current = null;
      setConfirm(null);
      setFormError(error);
    }
  };

  const clear = () => {
    map.current?.clearDrawn();
    created.current = null;
    dropDraft(DRAFT);
    setDraft(emptyDraft());
  };

  return (
    <div class="workspace">
      <section class="map-pane" aria-labelledby="map-heading">
        <h2 id="map-heading" class="visually-hidden">
          {t("map_label")}
        </h2>
        <RegionMap tiles={tiles} onReady={mapReady} />
        <ErrorBox error={regionError} />
        <p class="legend">{t("density_legend")}</p>
      </section>
      <section class="side-pane" aria-labelledby="compose-heading">
        <h1 id="compose-heading">{t("compose")}</h1>
        {restored && <Notice>{t("draft_restored")}</Notice>}
        <AreaPanel draft={draft} map={map} reach={reach} />
        <form onSubmit={openConfirm} novalidate>
          <AlertFields draft={draft} change={change} />
          <ErrorBox error={formError} onDismiss={() => setFormError(null)} />
          <div class="buttons">
            <button type="submit" class="primary" id="send-alert">
              {t("send")}
            </button>
            <button type="button" onClick={clear}>
              {t("clear_area")}
            </button>
          </div>
        </form>
      </section>
      <Dialog id="confirm-send" open={confirm !== null} title={t("confirm_send_title")} onClose={() => setConfirm(null)}>
        {confirm?.reach ? (
          <>
            <p>
              {t("confirm_send", {
                participants: countText(confirm.reach.participants),
                push: countText(confirm.reach.push.participants),
                sms: countText(confirm.reach.sms.participants),
                email: countText(confirm.reach.email.participants),
              })}
            </p>
            <ReachTable reach={confirm.reach} />
          </>
        ) : (
          <p>{t("reach_updating")}</p>
        )}
        <div class="buttons">
          <button type="button" class="danger" id="confirm-send-button" disabled={!confirm?.reach || confirm?.sending} onClick={send}>
            {t("confirm_send_button")}
          </button>
          <button type="button" onClick={() => setConfirm(null)}>
            {t("cancel")}
          </button>
        </div>
      </Dialog>
    </div>
  );
}

function countText(count) {
  return typeof count?.count === "number" ? String(count.count) : `< ${count?.fewer_than ?? 5}`;
}

function AreaPanel({ draft, map, reach }) {
  const [circle, setCircle] = useState({ latitude: "", longitude: "", radius: "1000" });
  const applyCircle = (event) => {
    event.preventDefault();
    const latitude = Number(circle.latitude);
    const longitude = Number(circle.longitude);
    const radius = Number(circle.radius);
    if (![latitude, longitude, radius].every(Number.isFinite)) return;
    map.current?.drawArea({ type: "circle", center: { latitude, longitude }, radius_meters: radius });
  };
  return (
    <section class="area-panel" aria-labelledby="area-heading">
      <h2 id="area-heading">{t("area")}</h2>
      <p id="area-summary">{areaSummary(draft.area)}</p>
      <div class="buttons">
        <button type="button" onClick={() => map.current?.startDrawing("Circle")}>
          {t("draw_circle")}
        </button>
        <button type="button" id="draw-polygon" onClick={() => map.current?.startDrawing("Polygon")}>
          {t("draw_polygon")}
        </button>
      </div>
      <details>
        <summary>{t("area_by_coordinates")}</summary>
        <form class="inline" onSubmit={applyCircle}>
          {[
            ["latitude", t("latitude")],
            ["longitude", t("longitude")],
            ["radius", t("radius_m")],
          ].map(([key, label]) => (
            <Field key={key} id={`circle-${key}`} label={label}>
              <input
                id={`circle-${key}`}
                inputMode="decimal"
                value={circle[key]}
                onInput={(event) => setCircle({ ...circle, [key]: event.currentTarget.value })}
              />
            </Field>
          ))}
          <button type="submit">{t("apply")}</button>
        </form>
      </details>
      <div class="reach" aria-live="polite" id="reach">
        <h3>
          {t("reach")} {reach.pending && <span class="pending">{t("reach_updating")}</span>}
        </h3>
        <ErrorBox error={reach.error} />
        {reach.value && <ReachTable reach={reach.value} />}
      </div>
    </section>
  );
}

function TextFields({ language, draft, change, required }) {
  const base = `texts.${language}`;
  const field = (key, label, multiline, max) => {
    const id = `${language}-${key}`;
    const value = getIn(draft, `${base}.${key}`) ?? "";
    const input = (event) => change(`${base}.${key}`, event.currentTarget.value);
    return (
      <Field id={id} label={label}>
        {multiline ? (
          <textarea id={id} rows={3} maxLength={max} value={value} onInput={input} required={required && key !== "instruction"} />
        ) : (
          <input id={id} maxLength={max} value={value} onInput={input} required={required && key !== "instruction"} />
        )}
      </Field>
    );
  };
  return (
    <fieldset>
      <legend>{required ? t("texts_nl") : t("texts_en")}</legend>
      {field("title", t("title"), false, 100)}
      {field("message", t("message"), true, 1000)}
      {field("instruction", t("instruction"), true, 300)}
    </fieldset>
  );
}

function AlertFields({ draft, change }) {
  const toggleChannel = (channel) => {
    const channels = draft.channels.includes(channel)
      ? draft.channels.filter((each) => each !== channel)
      : [...draft.channels, channel];
    change("channels", CHANNELS.filter((each) => channels.includes(each)));
  };
  const input = (path) => (event) => change(path, event.currentTarget.value);
  return (
    <>
      <Choice id="category" options={CATEGORIES} value={draft.category} onChange={input("category")} />
      <Choice id="purpose" options={PURPOSES} value={draft.purpose ?? "actual"} onChange={input("purpose")} />
      {(draft.purpose ?? "actual") !== "actual" && <p class="hint" id="purpose-hint">{t("purpose_hint")}</p>}
      <div class="check">
        <input type="checkbox" id="urgent" checked={draft.urgent} onChange={(event) => change("urgent", event.currentTarget.checked)} />
        <label for="urgent">{t("urgent")}</label>
      </div>
      <fieldset>
        <legend>{t("channels")}</legend>
        {CHANNELS.map((channel) => (
          <div class="check" key={channel}>
            <input type="checkbox" id={`channel-${channel}`} checked={draft.channels.includes(channel)} onChange={() => toggleChannel(channel)} />
            <label for={`channel-${channel}`}>{t(`channel_${channel}`)}</label>
          </div>
        ))}
        {draft.urgent && draft.channels.includes("email") && <p class="hint">{t("email_only_not_urgent")}</p>}
      </fieldset>
      <TargetGroups draft={draft} change={change} />
      <TextFields language="nl" draft={draft} change={change} required />
      <details id="english-texts">
        <summary>{t("texts_en")}</summary>
        <TextFields language="en" draft={draft} change={change} />
      </details>
      <Field id="call-back-number" label={t("call_back_number")}>
        <input id="call-back-number" type="tel" value={draft.call_back_number} onInput={input("call_back_number")} />
      </Field>
      <DescriptionFields draft={draft} change={change} />
      <SmsCounter draft={draft} />
      <PushPreview draft={draft} />
    </>
  );
}

/** The region's target groups to alert too, wherever their members are, and whether the area
 * reaches anyone (without it, only the groups are alerted). Hidden when the region has none. */
function TargetGroups({ draft, change }) {
  const [groups, setGroups] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/v1/target-groups").then(setGroups, setError);
  }, []);
  const chosen = draft.target_groups ?? [];
  if (error) return <ErrorBox error={error} />;
  if (!groups || groups.length === 0) return null;
  const toggle = (id) => {
    const next = chosen.includes(id) ? chosen.filter((each) => each !== id) : [...chosen, id];
    change("target_groups", next);
    if (next.length === 0) change("reach_area", true);
  };
  return (
    <fieldset id="target-groups">
      <legend>{t("target_groups")}</legend>
      {groups.map((group) => (
        <div class="check" key={group.id}>
          <input type="checkbox" id={`group-${group.id}`} checked={chosen.includes(group.id)} onChange={() => toggle(group.id)} />
          <label for={`group-${group.id}`}>
            {group.name} (<Count value={group.members.approved} />)
          </label>
        </div>
      ))}
      {chosen.length > 0 && (
        <div class="check">
          <input
            type="checkbox"
            id="groups-only"
            checked={!(draft.reach_area ?? true)}
            onChange={(event) => change("reach_area", !event.currentTarget.checked)}
          />
          <label for="groups-only">{t("groups_only")}</label>
        </div>
      )}
    </fieldset>
  );
}

function DescriptionFields({ draft, change }) {
  const text = (path, label) => {
    const id = path.replace(/\./g, "-");
    return (
      <Field id={id} label={label} key={path}>
        <input id={id} value={getIn(draft, path) ?? ""} onInput={(event) => change(path, event.currentTarget.value)} />
      </Field>
    );
  };
  const number = (path, label) => {
    const id = path.replace(/\./g, "-");
    return (
      <Field id={id} label={label} key={path}>
        <input id={id} type="number" min="0" inputMode="numeric" value={getIn(draft, path) ?? ""} onInput={(event) => change(path, event.currentTarget.value)} />
      </Field>
    );
  };
  const choice = (path, label, values, prefix) => {
    const id = path.replace(/\./g, "-");
    return (
      <Field id={id} label={label} key={path}>
        <select id={id} value={getIn(draft, path) ?? ""} onChange={(event) => change(path, event.currentTarget.value || null)}>
          <option value="">{t("none_chosen")}</option>
          {values.map((value) => (
            <option key={value} value={value}>
              {t(`${prefix}_${value}`)}
            </option>
          ))}
        </select>
      </Field>
    );
  };
  return (
    <fieldset>
      <legend>{t("description")}</legend>
      <details id="person-details">
        <summary>{t("person")}</summary>
        <div class="grid">
          {choice("description.person.sex", t("sex"), SEXES, "sex")}
          {PERSON_NUMBERS.map((key) => number(`description.person.${key}`, t(key)))}
          {PERSON_TEXT.map((key) => text(`description.person.${key}`, t(key)))}
        </div>
      </details>
      <details id="vehicle-details">
        <summary>{t("vehicle")}</summary>
        <div class="grid">
          {choice("description.vehicle.kind", t("vehicle_kind"), VEHICLE_KINDS, "vehicle")}
          {VEHICLE_TEXT.map((key) => text(`description.vehicle.${key}`, t(key)))}
        </div>
      </details>
      <Field id="free-text" label={t("free_text")}>
        <textarea id="free-text" rows={2} value={draft.description.free_text} onInput={(event) => change("description.free_text", event.currentTarget.value)} />
      </Field>
    </fieldset>
  );
}

function SmsCounter({ draft }) {
  const languages = hasEnglish(draft) ? ["nl", "en"] : ["nl"];
  return (
    <div class="sms-counter" aria-live="polite">
      {languages.map((language) => {
        const sms = alertSms(textOf(draft.texts[language]), trimmed(draft.call_back_number), language);
        return (
          <p key={language} id={`sms-counter-${language}`} data-segments={sms.segments} data-units={sms.units} data-encoding={sms.encoding}>
            <strong>{language.toUpperCase()}</strong>{" "}
            {t("sms_counter", { units: sms.units, encoding: sms.encoding === "gsm7" ? "GSM-7" : "UCS-2", segments: sms.segments })}
            {sms.segments > MAX_SMS_SEGMENTS && <span class="warning"> {t("sms_counter_cut", { max: MAX_SMS_SEGMENTS })}</span>}
          </p>
        );
      })}
    </div>
  );
}

function PushPreview({ draft }) {
  const push = alertPush(textOf(draft.texts.nl), trimmed(draft.call_back_number), "nl");
  return (
    <figure class="phone" aria-label={t("push_preview")}>
      <figcaption>{t("push_preview")}</figcaption>
      <div class="notification">
        <p class="app">BURGERNET · {draft.urgent ? "⚠" : ""}</p>
        <p class="push-title">{push.title}</p>
        <p class="push-body">{push.body}</p>
      </div>
    </figure>
  );
}
