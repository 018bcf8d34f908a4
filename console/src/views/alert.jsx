// One alert, live: its area and tips on the map, delivery counters per channel, time since
// sending, the dossier timeline, tips with their media, and (for its region's dispatchers) the
// actions of an active alert: expand, update, close.

import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "../api.js";
import { follow } from "../stream.js";
import { formatDuration, t } from "../i18n.js";
import { ErrorBox } from "../components.jsx";
import { RegionMap } from "./region-map.jsx";
import { Timeline } from "./timeline.jsx";
import { Tips } from "./tips.jsx";
import { AlertActions } from "./alert-actions.jsx";

const COUNTER_ROWS = ["retrying", "sent", "delivered", "failed", "acknowledged", "opened"];
const CHANNELS = ["push", "sms", "voice", "email"];
const TIP_CHANGES = ["tip", "tip_media", "media_ready", "media_rejected", "tip_assessed"];

export function AlertView({ alertId, member, tiles }) {
  const [alert, setAlert] = useState(null);
  const [counters, setCounters] = useState(null);
  const [entries, setEntries] = useState([]);
  const [tips, setTips] = useState([]);
  const [streamStatus, setStreamStatus] = useState("");
  const [error, setError] = useState(null);
  const [now, setNow] = useState(Date.now());
  const map = useRef(null);

  const loadAlert = () =>
    get(`/v1/alerts/${alertId}`)
      .then((value) => {
        setAlert(value);
        setCounters((old) => old ?? value.counters);
        map.current?.showAlertArea(value.area);
      })
      .catch(setError);
  const loadTips = () =>
    get(`/v1/alerts/${alertId}/tips`)
      .then((value) => {
        setTips(value);
        map.current?.showTips(value, (tip) => document.getElementById(`tip-${tip.id}`)?.focus());
      })
      .catch(setError);

  useEffect(() => {
    loadAlert();
    loadTips();
    const stream = follow(`/v1/alerts/${alertId}/events`, {
      replayFrom: "0",
      counters: setCounters,
      dossier: (entry) => {
        setEntries((old) => (old.some((each) => each.seq === entry.seq) ? old : [...old, entry]));
        // Not on `tips_viewed`/`media_viewed`: loading the tips records a view itself.
        if (TIP_CHANGES.includes(entry.kind) || entry.kind.includes("hold")) loadTips();
        if (["sent", "expanded", "updated", "closed"].includes(entry.kind)) loadAlert();
      },
      end: () => setStreamStatus("ended"),
      status: setStreamStatus,
    });
    const clock = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      stream.stop();
      clearInterval(clock);
    };
  }, [alertId]);

  const mayAct = member.role === "dispatcher" && member.region === alert?.region && alert?.status === "active";
  const title = alert?.texts?.nl?.title ?? "";
  return (
    <div class="workspace">
      <section class="map-pane" aria-label={t("map_label")}>
        <RegionMap
          tiles={tiles}
          onReady={(consoleMap) => {
            map.current = consoleMap;
            if (alert) consoleMap.showAlertArea(alert.area);
            consoleMap.showTips(tips);
          }}
        />
      </section>
      <section class="side-pane" aria-labelledby="alert-heading">
        <h1 id="alert-heading">{title}</h1>
        <ErrorBox error={error} onDismiss={() => setError(null)} />
        {alert && (
          <p class="meta">
            {alert.purpose !== "actual" && <span class="badge exercise" id="alert-purpose">{t(`purpose_${alert.purpose}`)}</span>}
            <span class={`status status-${alert.status}`}>{t(`status_${alert.status}`)}</span> · {t(`category_${alert.category}`)}
            {alert.sent_at && alert.status === "active" && (
              <span id="since-send"> · {t("since_send", { time: formatDuration(now - Date.parse(alert.sent_at)) })}</span>
            )}
            {alert.outcome && <span> · {t(`outcome_${alert.outcome}`)}</span>}
            {streamStatus && streamStatus !== "ended" && (
              <span class={`stream stream-${streamStatus}`} role="status">
                {" "}
                · {t(streamStatus === "live" ? "live" : "reconnecting")}
              </span>
            )}
          </p>
        )}
        {alert && alert.target_groups.length > 0 && (
          <p class="meta" id="alert-target-groups">
            {t(alert.reach_area ? "alert_groups_too" : "alert_groups_only")}: {alert.target_groups.map((group) => group.name).join(", ")}
          </p>
        )}
        <p>
          <a href={`#/alerts/${alertId}/dossier`}>{t("dossier")}</a>
        </p>
        {counters && <CountersTable counters={counters} />}
        {mayAct && <AlertActions alert={alert} map={map} onDone={loadAlert} />}
        <Tips alertId={alertId} tips={tips} mayAct={member.role === "dispatcher"} onChanged={loadTips} />
        <Timeline entries={entries} />
      </section>
    </div>
  );
}

function CountersTable({ counters }) {
  return (
    <section aria-labelledby="counters-heading">
      <h2 id="counters-heading">{t("counters")}</h2>
      <p>
        {t("recipients")}: <strong id="recipients-count">{counters.recipients}</strong> · {t("acknowledged")}:{" "}
        <strong>{counters.acknowledged}</strong> · {t("opened")}: <strong>{counters.opened}</strong> · {t("tips")}:{" "}
        <strong>{counters.tips}</strong>
      </p>
      <table class="counters" id="counters">
        <thead>
          <tr>
            <th scope="col">
              <span class="visually-hidden">{t("counters")}</span>
            </th>
            {CHANNELS.map((channel) => (
              <th scope="col" key={channel}>
                {t(`channel_${channel}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {COUNTER_ROWS.map((row) => (
            <tr key={row}>
              <th scope="row">{t(row)}</th>
              {CHANNELS.map((channel) => (
                <td key={channel} data-channel={channel} data-counter={row}>
                  {counters[channel][row]}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
