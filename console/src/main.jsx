// The console's shell: settings, sign-in, the staff member, navigation by role, and the view of
// the current route (`#/...`).

import { Component, render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { beginSignIn, completeSignIn, discover, signOut, watchExpiry, accessToken } from "./auth.js";
import { get, whenUnauthorized } from "./api.js";
import { t, currentLanguage, setLanguage } from "./i18n.js";
import { ErrorBox } from "./components.jsx";
import { ComposeAlert } from "./views/compose.jsx";
import { AlertsList } from "./views/alerts-list.jsx";
import { AlertView } from "./views/alert.jsx";
import { DossierView } from "./views/dossier.jsx";
import { Queues } from "./views/queues.jsx";
import { Participants } from "./views/participants.jsx";
import { Overview } from "./views/overview.jsx";

const SIGNED_OUT = "burgernet.console.signed-out";

function useRoute() {
  const [route, setRoute] = useState(window.location.hash || "#/");
  useEffect(() => {
    const changed = () => setRoute(window.location.hash || "#/");
    window.addEventListener("hashchange", changed);
    // The address may have changed between the first render and now.
    changed();
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function homeOf(member) {
  if (member.role === "dispatcher") return "#/map";
  if (member.role === "relations_officer") return "#/queues";
  if (member.role === "region_manager") return "#/alerts";
  return "#/overview";
}

function navigationOf(member) {
  if (member.role === "dispatcher") {
    return [
      ["#/map", t("nav_map")],
      ["#/alerts", t("nav_alerts")],
    ];
  }
  if (member.role === "relations_officer") {
    return [
      ["#/queues", t("nav_queues")],
      ["#/participants", t("nav_participants")],
    ];
  }
  if (member.role === "region_manager") return [["#/alerts", t("nav_alerts")]];
  return [
    ["#/overview", t("nav_overview")],
    ["#/alerts", t("nav_alerts")],
  ];
}

function roleText(member) {
  return t(`role_${member.role}`, { region: member.region, municipality: member.municipality });
}

function View({ route, member, tiles }) {
  const [path] = route.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "map" && member.role === "dispatcher") return <ComposeAlert member={member} tiles={tiles} />;
  if (parts[0] === "alerts" && parts[1] && parts[2] === "dossier") return <DossierView alertId={parts[1]} />;
  if (parts[0] === "alerts" && parts[1]) return <AlertView alertId={parts[1]} member={member} tiles={tiles} />;
  if (parts[0] === "alerts") return <AlertsList member={member} />;
  if (parts[0] === "queues" && member.role === "relations_officer") return <Queues member={member} />;
  if (parts[0] === "participants" && member.role === "relations_officer") return <Participants member={member} />;
  if (parts[0] === "overview" && member.role === "admin") return <Overview />;
  return <Redirect to={homeOf(member)} />;
}

/** Goes to `to` without leaving the address it replaces in the history. */
function Redirect({ to }) {
  useEffect(() => window.location.replace(to), [to]);
  return null;
}

/** A view that fails shows what went wrong instead of a blank page; the rest keeps working. */
class ViewBoundary extends Component {
  componentDidCatch(error) {
    console.error("console view failed", error);
    this.setState({ error });
  }

  render({ children }, { error }) {
    if (error) return <ErrorBox error={{ code: "console_error", message: String(error?.message ?? error) }} />;
    return children;
  }
}

function Shell({ settings, provider, member }) {
  const route = useRoute();
  // When the first screen is there, for the tests' and a support engineer's timing.
  useEffect(() => performance.mark("console-ready"), []);
  const [, setLanguageShown] = useState(currentLanguage());
  const changeLanguage = (event) => {
    setLanguage(event.currentTarget.value);
    setLanguageShown(currentLanguage());
  };
  const leave = () => {
    sessionStorage.setItem(SIGNED_OUT, "1");
    if (!signOut(settings, provider)) window.location.reload();
  };
  return (
    <div class="shell">
      <a class="skip" href="#main" onClick={(event) => (event.preventDefault(), document.getElementById("main")?.focus())}>
        {t("skip_to_content")}
      </a>
      <header class="top">
        <span class="brand">{t("app_name")}</span>
        <nav aria-label={t("app_name")}>
          <ul>
            {navigationOf(member).map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={route.startsWith(href) ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {member.name ? `${member.name} · ` : ""}
          {roleText(member)}
        </span>
        <label class="language">
          <span class="visually-hidden">{t("language")}</span>
          <select value={currentLanguage()} onChange={changeLanguage} aria-label={t("language")}>
            <option value="nl">Nederlands</option>
            <option value="en">English</option>
          </select>
        </label>
        <button type="button" onClick={leave}>
          {t("sign_out")}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ViewBoundary key={`${route}/${currentLanguage()}`}>
          <View route={route} member={member} tiles={settings.tiles} />
        </ViewBoundary>
      </main>
    </div>
  );
}

function SignInScreen({ message, error, onSignIn }) {
  return (
    <main id="main" class="sign-in">
      <h1>{t("app_name")}</h1>
      {message && <p role="status">{message}</p>}
      <ErrorBox error={error} />
      <button type="button" class="primary" onClick={onSignIn}>
        {t("sign_in")}
      </button>
    </main>
  );
}

function App() {
  const [state, setState] = useState({ phase: "loading" });

  useEffect(() => {
    (async () => {
      let settings;
      let provider;
      try {
        settings = await (await fetch("/console/settings.json")).json();
        provider = await discover(settings.oidc.issuer);
      } catch (error) {
        setState({ phase: "signed-out", error: error.code ? error : { code: "identity_provider_unavailable" } });
        return;
      }
      const signIn = () => {
        sessionStorage.removeItem(SIGNED_OUT);
        beginSignIn(settings, provider, window.location.hash || "#/");
      };
      const expired = () => {
        // Views keep their drafts in sessionStorage as they are typed; going back to the identity
        // provider keeps this tab, so the draft is there on return.
        beginSignIn(settings, provider, window.location.hash || "#/");
      };
      whenUnauthorized(expired);
      try {
        const returnTo = await completeSignIn(settings, provider);
        if (returnTo) window.location.hash = returnTo;
      } catch (error) {
        setState({ phase: "signed-out", settings, provider, error, signIn });
        return;
      }
      if (!accessToken()) {
        if (sessionStorage.getItem(SIGNED_OUT)) {
          setState({ phase: "signed-out", settings, provider, message: t("signed_out"), signIn });
        } else {
          signIn();
        }
        return;
      }
      watchExpiry(expired);
      try {
        const member = await get("/v1/staff/me");
        setState({ phase: "ready", settings, provider, member });
      } catch (error) {
        setState({ phase: "signed-out", settings, provider, error, signIn });
      }
    })();
  }, []);

  if (state.phase === "loading") return <p class="loading">{t("signing_in")}</p>;
  if (state.phase === "signed-out") {
    return <SignInScreen message={state.message} error={state.error} onSignIn={state.signIn || (() => window.location.reload())} />;
  }
  return <Shell settings={state.settings} provider={state.provider} member={state.member} />;
}

render(<App />, document.getElementById("app"));
