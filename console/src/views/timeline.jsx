import { formatTime, t } from "../i18n.js";

function summary(entry) {
  const body = entry.body || {};
  if (entry.kind === "deliveries") return `${body.sent ?? 0} ✓ · ${body.failed ?? 0} ✗ · ${body.retrying ?? 0} ↻`;
  if (body.text) return body.text;
  if (body.reason) return body.reason;
  if (body.outcome) return t(`outcome_${body.outcome}`);
  return "";
}

/** Dossier entries, newest first. */
export function Timeline({ entries }) {
  return (
    <section aria-labelledby="timeline-heading" class="timeline">
      <h2 id="timeline-heading">{t("timeline")}</h2>
      <ol reversed id="timeline">
        {[...entries].reverse().map((entry) => (
          <li key={entry.seq} data-kind={entry.kind}>
            <time dateTime={entry.recorded_at}>{formatTime(entry.recorded_at)}</time> <strong>{entry.kind}</strong>{" "}
            <span class="actor">{entry.actor_name || entry.actor}</span> <span>{summary(entry)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
