// Searching the municipality's participants by phone number or postcode.

import { useState } from "preact/hooks";
import { get } from "../api.js";
import { formatTime, t } from "../i18n.js";
import { ErrorBox, Field } from "../components.jsx";

export function Participants({ member }) {
  const [query, setQuery] = useState({ phone_number: "", postcode: "" });
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const search = async (event) => {
    event.preventDefault();
    setError(null);
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value.trim()) params.set(key, value.trim());
    try {
      setResult(await get(`/v1/municipalities/${member.municipality}/participants?${params}`));
    } catch (failure) {
      setError(failure);
    }
  };
  return (
    <section class="page" aria-labelledby="participants-heading">
      <h1 id="participants-heading">{t("search_participants")}</h1>
      <form class="inline" onSubmit={search}>
        <Field id="search-phone" label={t("search_phone")}>
          <input id="search-phone" type="tel" value={query.phone_number} onInput={(event) => setQuery({ ...query, phone_number: event.currentTarget.value })} />
        </Field>
        <Field id="search-postcode" label={t("search_postcode")}>
          <input id="search-postcode" value={query.postcode} onInput={(event) => setQuery({ ...query, postcode: event.currentTarget.value })} />
        </Field>
        <button type="submit">{t("search")}</button>
      </form>
      <ErrorBox error={error} />
      {result && (
        <>
          <p role="status">{t("results", { total: result.total })}</p>
          <table class="list">
            <thead>
              <tr>
                <th scope="col">{t("phone_number")}</th>
                <th scope="col">{t("email")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("signed_up")}</th>
              </tr>
            </thead>
            <tbody>
              {result.items.map((participant) => (
                <tr key={participant.id}>
                  <td>{participant.phone_number}</td>
                  <td>{participant.email ?? "–"}</td>
                  <td>{participant.status}</td>
                  <td>{formatTime(participant.signed_up_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
