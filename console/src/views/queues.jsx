// A relations officer's work: the approval, verification and quarantine queues of their
// municipality, each participant decided with a reason; the approval policy; participation.

import { useEffect, useState } from "preact/hooks";
import { get, post, put, shownCount } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { ErrorBox, Field, useSubmit } from "../components.jsx";
import { dropDraft, loadDraft, saveDraft } from "../drafts.js";

const QUEUES = ["approval", "verification", "quarantine"];
const DECISIONS = {
  approval: ["approve", "reject"],
  verification: ["quarantine", "remove"],
  quarantine: ["reinstate", "remove"],
};

export function Queues({ member }) {
  const municipality = member.municipality;
  const [queue, setQueue] = useState("approval");
  const [page, setPage] = useState(1);
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    get(`/v1/municipalities/${municipality}/queues/${queue}?page=${page}&per_page=25`)
      .then(setItems)
      .catch(setError);
  useEffect(() => {
    setItems(null);
    setError(null);
    load();
  }, [queue, page]);
  return (
    <div class="page">
      <Participation municipality={municipality} />
      <section aria-labelledby="queues-heading">
        <h1 id="queues-heading">{t("nav_queues")}</h1>
        <div role="tablist" class="tabs" aria-label={t("nav_queues")}>
          {QUEUES.map((name) => (
            <button
              key={name}
              role="tab"
              type="button"
              id={`queue-${name}`}
              aria-selected={queue === name}
              onClick={() => (setQueue(name), setPage(1))}
            >
              {t(`queue_${name}`)}
            </button>
          ))}
        </div>
        <div role="tabpanel" aria-labelledby={`queue-${queue}`}>
          <ErrorBox error={error} />
          {items && items.items.length === 0 && <p>{t("queue_empty")}</p>}
          {items && items.items.length > 0 && (
            <ul class="queue" id="queue-items">
              {items.items.map((participant) => (
                <QueueItem key={participant.id} municipality={municipality} queue={queue} participant={participant} onDecided={load} />
              ))}
            </ul>
          )}
          {items && items.total > items.per_page && (
            <div class="buttons">
              <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
                {t("previous")}
              </button>
              <span>{t("page", { page })}</span>
              <button type="button" disabled={page * items.per_page >= items.total} onClick={() => setPage(page + 1)}>
                {t("next")}
              </button>
            </div>
          )}
        </div>
      </section>
    </div>
  );
}

function QueueItem({ municipality, queue, participant, onDecided }) {
  const draftName = `decision-${participant.id}`;
  const [decision, setDecision] = useState(() => loadDraft(draftName) ?? { decision: DECISIONS[queue][0], reason: "" });
  useEffect(() => saveDraft(draftName, decision), [decision]);
  const { submit: decide, busy, error } = useSubmit(
    () =>
      post(`/v1/municipalities/${municipality}/participants/${participant.id}/decisions`, {
        decision: decision.decision,
        reason: decision.reason.trim(),
      }),
    () => (dropDraft(draftName), onDecided()),
  );
  return (
    <li data-participant={participant.id}>
      <p>
        <strong>{participant.display_name || participant.phone_number}</strong> · {participant.phone_number}
        {participant.email && ` · ${participant.email}`} · {t("signed_up")}: {formatTime(participant.signed_up_at)}
      </p>
      <form class="inline" onSubmit={decide}>
        <Field id={`decision-${participant.id}`} label={t("decision")}>
          <select id={`decision-${participant.id}`} value={decision.decision} onChange={(event) => setDecision({ ...decision, decision: event.currentTarget.value })}>
            {DECISIONS[queue].map((value) => (
              <option key={value} value={value}>
                {t(`decision_${value}`)}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`reason-${participant.id}`} label={t("reason")}>
          <input
            id={`reason-${participant.id}`}
            required
            maxLength={1000}
            value={decision.reason}
            onInput={(event) => setDecision({ ...decision, reason: event.currentTarget.value })}
          />
        </Field>
        <button type="submit" disabled={busy}>
          {t("decide")}
        </button>
      </form>
      <ErrorBox error={error} />
    </li>
  );
}

function Participation({ municipality }) {
  const [participation, setParticipation] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/v1/municipalities/${municipality}/participation`).then(setParticipation).catch(setError);
  }, [municipality]);
  const setPolicy = async (requiresApproval) => {
    setError(null);
    try {
      await put(`/v1/municipalities/${municipality}/approval-policy`, { requires_approval: requiresApproval });
      setParticipation({ ...participation, requires_approval: requiresApproval });
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section aria-labelledby="participation-heading" class="participation">
      <h2 id="participation-heading">
        {t("participation")}
        {participation && ` · ${participation.name}`}
      </h2>
      <ErrorBox error={error} />
      {participation && (
        <>
          <p id="participation-share">
            {t("participation_share", {
              active: shownCount(participation.active),
              inhabitants: participation.inhabitants.toLocaleString(),
              share: participation.share_percent == null ? "–" : `${participation.share_percent.toFixed(1)}%`,
            })}
          </p>
          {typeof participation.requires_approval === "boolean" && (
            <div class="check">
              <input
                type="checkbox"
                id="approval-policy"
                checked={participation.requires_approval}
                onChange={(event) => setPolicy(event.currentTarget.checked)}
              />
              <label for="approval-policy">{t("approval_policy")}</label>
            </div>
          )}
        </>
      )}
    </section>
  );
}
