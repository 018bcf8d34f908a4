// An API error in words the user understands. The problem's `code` stays visible for support;
// codes without words of their own show the server's explanation.

import { currentLanguage } from "./i18n.js";

const MESSAGES = {
  nl: {
    network_error: "De server is niet bereikbaar. Controleer de verbinding en probeer het opnieuw; er is niets verloren.",
    invalid_token: "Je aanmelding is niet (meer) geldig. Meld je opnieuw aan.",
    token_expired: "Je sessie is verlopen. Meld je opnieuw aan.",
    forbidden: "Dit mag je rol niet.",
    out_of_scope: "Dit valt buiten jouw eenheid of gemeente.",
    not_found: "Dit bestaat niet (meer), of valt buiten jouw eenheid of gemeente.",
    invalid_area: "Het gebied klopt niet: teken een gesloten vlak zonder kruisende lijnen.",
    invalid_radius: "De straal moet tussen 100 m en 50 km liggen.",
    too_many_vertices: "Het gebied heeft te veel punten. Teken het eenvoudiger.",
    area_too_small: "Het gebied is te klein.",
    area_too_large: "Het gebied is te groot.",
    area_outside_service_area: "Het gebied ligt buiten Nederland.",
    area_outside_region: "Het gebied ligt (te ver) buiten jouw eenheid.",
    invalid_channels: "Kies ten minste één kanaal dat bij deze actie past.",
    invalid_text: "Een tekst is leeg of te lang.",
    invalid_description: "Het signalement klopt niet.",
    invalid_call_back_number: "Het terugbelnummer is geen geldig nummer.",
    invalid_body: "Het formulier is niet volledig of klopt niet.",
    alert_already_sent: "Deze actie is al verstuurd.",
    alert_not_sent: "Deze actie is nog niet verstuurd.",
    alert_closed: "Deze actie is al afgesloten.",
    rate_limited: "Te veel verzoeken achter elkaar. Wacht even en probeer het opnieuw.",
    database_unavailable: "De server is tijdelijk niet beschikbaar. Probeer het zo opnieuw; er is niets verloren.",
    internal_error: "Er ging iets mis op de server. Probeer het opnieuw; meld het als het blijft gebeuren.",
    decision_not_applicable: "Dit besluit past niet bij de huidige status van de deelnemer.",
    identity_provider_unavailable: "De aanmeldserver is niet bereikbaar.",
    state_mismatch: "De aanmelding hoort niet bij deze pagina. Meld je opnieuw aan.",
  },
  en: {
    network_error: "The server cannot be reached. Check the connection and try again; nothing was lost.",
    invalid_token: "Your sign-in is not valid (any more). Sign in again.",
    token_expired: "Your session expired. Sign in again.",
    forbidden: "Your role may not do this.",
    out_of_scope: "This is outside your region or municipality.",
    not_found: "This does not exist (any more), or is outside your region or municipality.",
    invalid_area: "The area is not valid: draw a closed shape whose lines do not cross.",
    invalid_radius: "The radius must be between 100 m and 50 km.",
    too_many_vertices: "The area has too many points. Draw it more simply.",
    area_too_small: "The area is too small.",
    area_too_large: "The area is too large.",
    area_outside_service_area: "The area lies outside the Netherlands.",
    area_outside_region: "The area lies (too far) outside your region.",
    invalid_channels: "Choose at least one channel that suits this alert.",
    invalid_text: "A text is empty or too long.",
    invalid_description: "The description is not valid.",
    invalid_call_back_number: "The call-back number is not a valid number.",
    invalid_body: "The form is incomplete or not valid.",
    alert_already_sent: "This alert has been sent already.",
    alert_not_sent: "This alert has not been sent yet.",
    alert_closed: "This alert is closed already.",
    rate_limited: "Too many requests in a row. Wait a moment and try again.",
    database_unavailable: "The server is unavailable for a moment. Try again shortly; nothing was lost.",
    internal_error: "Something went wrong on the server. Try again; report it if it keeps happening.",
    decision_not_applicable: "This decision does not suit the participant's current status.",
    identity_provider_unavailable: "The sign-in server cannot be reached.",
    state_mismatch: "The sign-in does not belong to this page. Sign in again.",
  },
};

/** `{ message, code, detail }` for an ApiError (or any error). */
export function explain(error) {
  const code = error?.code || "internal_error";
  const words = MESSAGES[currentLanguage()][code];
  const detail = error?.problem?.detail || error?.message || "";
  return { code, message: words || detail || MESSAGES[currentLanguage()].internal_error, detail: words ? detail : "" };
}
