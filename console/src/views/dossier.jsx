// An alert's dossier: every entry (replayed from the event stream from the first), the result of
// verifying the hash chain, and the export as a file.

import { useEffect, useState } from "preact/hooks";
import { get } from "../api.js";
import { follow } from "../stream.js";
import { t } from "../i18n.js";
import { ErrorBox } from "../components.jsx";
import { Timeline } from "./timeline.jsx";

export function DossierView({ alertId }) {
  const [entries, setEntries] = useState([]);
  const [verification, setVerification] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get(`/v1/alerts/${alertId}/dossier/verification`).then(setVerification).catch(setError);
    const stream = follow(`/v1/alerts/${alertId}/events`, {
      dossier: (entry) => setEntries((old) => [...old, entry]),
      replayFrom: "0",
    });
    return () => stream.stop();
  }, [alertId]);

  const exportDossier = async () => {
    setError(null);
    try {
      const dossier = await get(`/v1/alerts/${alertId}/dossier`);
      const blob = new Blob([JSON.stringify(dossier, null, 2)], { type: "application/json" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `burgernet-dossier-${alertId}.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <section class="page">
      <p>
        <a href={`#/alerts/${alertId}`}>← {t("alerts")}</a>
      </p>
      <h1>{t("dossier")}</h1>
      <ErrorBox error={error} />
      <section aria-labelledby="verification-heading" id="verification">
        <h2 id="verification-heading">{t("verify_chain")}</h2>
        {verification &&
          (verification.intact ? (
            <p class="ok" data-intact="true">
              {t("chain_intact", { entries: verification.entries })}
            </p>
          ) : (
            <p class="warning" data-intact="false">
              {t("chain_broken", { seq: verification.first_broken?.seq, problem: verification.first_broken?.problem })}
            </p>
          ))}
      </section>
      <button type="button" onClick={exportDossier} id="export-dossier">
        {t("export_dossier")}
      </button>
      <Timeline entries={entries} />
    </section>
  );
}
