// Alerts of the region (a dispatcher) or of every region (an administrator), newest first.

import { useEffect, useState } from "preact/hooks";
import { get } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { ErrorBox } from "../components.jsx";

const STATUSES = ["", "draft", "active", "closed"];

export function AlertsList({ member }) {
  const [status, setStatus] = useState("");
  const [alerts, setAlerts] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setError(null);
    get(`/v1/alerts?limit=200${status ? `&status=${status}` : ""}`)
      .then(setAlerts)
      .catch(setError);
  }, [status]);
  return (
    <section class="page">
      <h1>{t("alerts")}</h1>
      {member.role !== "dispatcher" && <p class="hint">{t("read_only")}</p>}
      <div class="field inline">
        <label for="status-filter">{t("status")}</label>
        <select id="status-filter" value={status} onChange={(event) => setStatus(event.currentTarget.value)}>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {t(value ? `status_${value}` : "status_all")}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={error} />
      {alerts && alerts.length === 0 && <p>{t("no_alerts")}</p>}
      {alerts && alerts.length > 0 && (
        <table class="list" id="alerts-table">
          <thead>
            <tr>
              <th scope="col">{t("title")}</th>
              <th scope="col">{t("category")}</th>
              <th scope="col">{t("status")}</th>
              <th scope="col">{t("created")}</th>
              <th scope="col">{t("sent_at")}</th>
              {member.role === "admin" && <th scope="col">Regio</th>}
            </tr>
          </thead>
          <tbody>
            {alerts.map((alert) => (
              <tr key={alert.id} data-alert={alert.id}>
                <td>
                  <a href={`#/alerts/${alert.id}`}>{alert.title}</a>
                  {alert.urgent && <span class="badge">!</span>}
                  {alert.purpose !== "actual" && <span class="badge exercise">{t(`purpose_${alert.purpose}`)}</span>}
                </td>
                <td>{t(`category_${alert.category}`)}</td>
                <td>{t(`status_${alert.status}`)}</td>
                <td>{formatTime(alert.created_at)}</td>
                <td>{formatTime(alert.sent_at)}</td>
                {member.role === "admin" && <td>{alert.region}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
