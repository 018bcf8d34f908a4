// An administrator's view of the country: regions with their municipalities, participants and
// alerts at a glance.

import { useEffect, useState } from "preact/hooks";
import { get, shownCount } from "../api.js";
import { t } from "../i18n.js";
import { ErrorBox } from "../components.jsx";

export function Overview() {
  const [regions, setRegions] = useState(null);
  const [open, setOpen] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/v1/regions/overview").then(setRegions).catch(setError);
  }, []);
  const toggle = async (code) => {
    if (open[code]) return setOpen({ ...open, [code]: null });
    try {
      setOpen({ ...open, [code]: await get(`/v1/regions/${code}/municipalities`) });
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="page" aria-labelledby="overview-heading">
      <h1 id="overview-heading">{t("regions")}</h1>
      <ErrorBox error={error} />
      {regions && (
        <table class="list" id="regions-table">
          <thead>
            <tr>
              <th scope="col">{t("regions")}</th>
              <th scope="col">{t("municipalities")}</th>
              <th scope="col">{t("inhabitants")}</th>
              <th scope="col">{t("active_participants")}</th>
              <th scope="col">{t("active_alerts")}</th>
              <th scope="col">{t("draft_alerts")}</th>
            </tr>
          </thead>
          <tbody>
            {regions.map((region) => (
              <>
                <tr key={region.code} data-region={region.code}>
                  <th scope="row">
                    <button type="button" class="link" aria-expanded={Boolean(open[region.code])} onClick={() => toggle(region.code)}>
                      {region.name}
                    </button>
                  </th>
                  <td>{region.municipalities}</td>
                  <td>{Number(region.inhabitants).toLocaleString()}</td>
                  <td>{shownCount(region.active_participants)}</td>
                  <td>{region.active_alerts}</td>
                  <td>{region.draft_alerts}</td>
                </tr>
                {open[region.code] && (
                  <tr key={`${region.code}-municipalities`}>
                    <td colSpan={6}>
                      <ul class="municipalities">
                        {open[region.code].map((municipality) => (
                          <li key={municipality.cbs_code}>
                            {municipality.name} ({municipality.cbs_code}) · {municipality.inhabitants.toLocaleString()} {t("inhabitants").toLowerCase()}
                          </li>
                        ))}
                      </ul>
                    </td>
                  </tr>
                )}
              </>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
