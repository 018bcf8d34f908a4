// Tips as they arrive: text, when seen, position (on the map), whether the sender may be called
// back, media thumbnails; a viewer for the display image or the playable video preview; the
// original only with a recorded reason; assessment and legal hold.

import { useEffect, useState } from "preact/hooks";
import { del, post, put } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { Dialog, ErrorBox, Field, useSubmit } from "../components.jsx";

const ASSESSMENTS = ["relevant", "not_relevant", "forwarded"];

/** Links to derived media, kept until they expire so a re-render does not ask (and record) again. */
const links = new Map();

async function mediaLink(alertId, media, preview) {
  const key = `${media.id}/${preview}`;
  const known = links.get(key);
  if (known && Date.parse(known.expires_at) - Date.now() > 15000) return known.url;
  const link = await post(`/v1/alerts/${alertId}/media/${media.id}/views`, { preview });
  links.set(key, link);
  return link.url;
}

export function Tips({ alertId, tips, mayAct, onChanged }) {
  const [viewing, setViewing] = useState(null);
  return (
    <section aria-labelledby="tips-heading" class="tips">
      <h2 id="tips-heading">
        {t("tips")} ({tips.length})
      </h2>
      {tips.length === 0 && <p>{t("no_tips")}</p>}
      <ol id="tips">
        {[...tips].reverse().map((tip) => (
          <TipCard key={tip.id} alertId={alertId} tip={tip} mayAct={mayAct} onChanged={onChanged} onView={setViewing} />
        ))}
      </ol>
      <MediaViewer alertId={alertId} media={viewing} mayAct={mayAct} onClose={() => setViewing(null)} />
    </section>
  );
}

function TipCard({ alertId, tip, mayAct, onChanged, onView }) {
  return (
    <li class="tip" id={`tip-${tip.id}`} tabIndex={-1} data-tip={tip.id}>
      <p class="tip-text">{tip.text}</p>
      <p class="meta">
        {t("seen_at")}: {formatTime(tip.seen_at ?? tip.created_at)}
        {tip.location && (
          <>
            {" "}
            · {t("position")}: {tip.location.latitude.toFixed(5)}, {tip.location.longitude.toFixed(5)} (±
            {Math.round(tip.location.accuracy_meters)} m)
          </>
        )}
      </p>
      <p class="meta">
        {tip.anonymous ? t("anonymous") : ""}{" "}
        {tip.may_call_back ? t("may_call_back", { number: tip.call_back_phone_number ?? "" }) : t("no_call_back")}
      </p>
      {tip.media.length > 0 && (
        <ul class="thumbnails" aria-label={t("media")}>
          {tip.media.map((media) => (
            <Thumbnail key={media.id} alertId={alertId} media={media} onView={onView} />
          ))}
        </ul>
      )}
      {tip.legal_hold && <p class="held">{t("held", { reason: tip.legal_hold.reason })}</p>}
      {mayAct && <TipDecisions alertId={alertId} tip={tip} onChanged={onChanged} />}
    </li>
  );
}

function Thumbnail({ alertId, media, onView }) {
  // The tips list carries a short-lived thumbnail link for each file that has one.
  const url = media.thumbnail?.url ?? null;
  const label = `${t("view_media")}: ${media.kind === "video" ? "video" : "foto"}`;
  return (
    <li>
      {media.state === "rejected" ? (
        <span class="media-state">{t("rejected")}</span>
      ) : media.state !== "ready" ? (
        <span class="media-state">{t("processing")}</span>
      ) : (
        <button type="button" class="thumbnail" onClick={() => onView(media)} aria-label={label} data-media={media.id}>
          {url ? <img src={url} alt="" /> : <span>{media.kind === "video" ? "▶" : t("no_preview")}</span>}
        </button>
      )}
    </li>
  );
}

function MediaViewer({ alertId, media, mayAct, onClose }) {
  const [source, setSource] = useState(null);
  const [error, setError] = useState(null);
  const [reason, setReason] = useState("");
  useEffect(() => {
    setSource(null);
    setError(null);
    if (!media) return;
    const load = async () => {
      const offers = media.previews ?? [];
      if (media.kind === "video") {
        // The playable preview (H.264, no metadata) when the worker made one, else the poster.
        const poster = offers.includes("poster") ? await mediaLink(alertId, media, "poster").catch(() => null) : null;
        const video = offers.includes("video") ? await mediaLink(alertId, media, "video") : null;
        setSource({ kind: "video", poster, video });
      } else if (offers.includes("display")) {
        setSource({ kind: "photo", url: await mediaLink(alertId, media, "display") });
      } else {
        setSource({ kind: "none" });
      }
    };
    load().catch(setError);
  }, [media?.id]);

  const downloadOriginal = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const link = await post(`/v1/alerts/${alertId}/media/${media.id}/original-downloads`, { reason: reason.trim() });
      window.location.assign(link.url);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <Dialog id="media-viewer" open={media !== null} title={t("media_viewer")} onClose={onClose}>
      <ErrorBox error={error} />
      {source?.kind === "photo" && <img class="display" id="display-image" src={source.url} alt={t("media")} />}
      {source?.kind === "video" &&
        (source.video ? (
          <video class="display" id="display-video" controls preload="metadata" poster={source.poster ?? undefined} src={source.video} />
        ) : source.poster ? (
          <img class="display" src={source.poster} alt={t("media")} />
        ) : (
          <p>{t("no_preview")}</p>
        ))}
      {source?.kind === "none" && <p>{t("no_preview")}</p>}
      {mayAct && media && (
        <form onSubmit={downloadOriginal}>
          <Field id="download-reason" label={t("download_reason")}>
            <input id="download-reason" value={reason} minLength={3} maxLength={500} required onInput={(event) => setReason(event.currentTarget.value)} />
          </Field>
          <button type="submit">{t("download")}</button>
        </form>
      )}
      <div class="buttons">
        <button type="button" onClick={onClose}>
          {t("dismiss")}
        </button>
      </div>
    </Dialog>
  );
}

function TipDecisions({ alertId, tip, onChanged }) {
  const [assessment, setAssessment] = useState(tip.assessment?.assessment ?? "");
  const [forwardedTo, setForwardedTo] = useState(tip.assessment?.forwarded_to ?? "");
  const [note, setNote] = useState(tip.assessment?.note ?? "");
  const [holdReason, setHoldReason] = useState("");
  const [saved, setSaved] = useState(false);
  const base = `/v1/alerts/${alertId}/tips/${tip.id}`;
  const done = () => (setSaved(true), onChanged());
  const assessing = useSubmit(
    () =>
      put(`${base}/assessment`, {
        assessment,
        forwarded_to: assessment === "forwarded" ? forwardedTo.trim() || null : null,
        note: note.trim() || null,
      }),
    done,
  );
  const holding = useSubmit(() => put(`${base}/legal-hold`, { reason: holdReason.trim() }), done);
  const lifting = useSubmit(() => del(`${base}/legal-hold`), done);
  const error = assessing.error ?? holding.error ?? lifting.error;
  return (
    <details class="decisions">
      <summary>{t("assess")}</summary>
      <form onSubmit={assessing.submit}>
        <Field id={`assessment-${tip.id}`} label={t("assess")}>
          <select id={`assessment-${tip.id}`} value={assessment} required onChange={(event) => setAssessment(event.currentTarget.value)}>
            <option value="">{t("none_chosen")}</option>
            {ASSESSMENTS.map((value) => (
              <option key={value} value={value}>
                {t(`assessment_${value}`)}
              </option>
            ))}
          </select>
        </Field>
        {assessment === "forwarded" && (
          <Field id={`forwarded-${tip.id}`} label={t("forwarded_to")}>
            <input id={`forwarded-${tip.id}`} value={forwardedTo} onInput={(event) => setForwardedTo(event.currentTarget.value)} />
          </Field>
        )}
        <Field id={`note-${tip.id}`} label={t("note")}>
          <input id={`note-${tip.id}`} value={note} onInput={(event) => setNote(event.currentTarget.value)} />
        </Field>
        <button type="submit">{t("save")}</button>
      </form>
      {tip.legal_hold ? (
        <form onSubmit={lifting.submit}>
          <button type="submit">{t("lift_hold")}</button>
        </form>
      ) : (
        <form onSubmit={holding.submit}>
          <Field id={`hold-${tip.id}`} label={t("legal_hold_reason")}>
            <input id={`hold-${tip.id}`} value={holdReason} minLength={3} required onInput={(event) => setHoldReason(event.currentTarget.value)} />
          </Field>
          <button type="submit">{t("legal_hold")}</button>
        </form>
      )}
      <ErrorBox error={error} />
      {saved && <p role="status">{t("done")}</p>}
    </details>
  );
}
