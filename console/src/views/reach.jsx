import { t } from "../i18n.js";
import { Count } from "../components.jsx";

/** A reach (`Reach`): participants and devices per channel, hidden counts as "< 5". */
export function ReachTable({ reach, newOnly }) {
  const rows = [
    [newOnly ? t("reach_new_participants") : t("reach_participants"), reach.participants, "participants"],
    [t("reach_push"), reach.push.participants, "push"],
    [t("reach_ios"), reach.push.ios_devices, "ios"],
    [t("reach_android"), reach.push.android_devices, "android"],
    [t("reach_sms"), reach.sms.participants, "sms"],
    [t("reach_sms_fallback"), reach.sms.fallback_participants, "sms-fallback"],
    [t("reach_voice"), reach.voice.participants, "voice"],
    [t("reach_voice_fallback"), reach.voice.fallback_participants, "voice-fallback"],
    [t("reach_email"), reach.email.participants, "email"],
    [t("reach_target_groups"), reach.target_groups, "target-groups"],
  ];
  return (
    <table class="reach-table">
      <tbody>
        {rows.map(([label, count, key]) => (
          <tr key={key} data-reach={key}>
            <th scope="row">{label}</th>
            <td>
              <Count value={count} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
