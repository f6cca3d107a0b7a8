import { useEffect } from 'preact/hooks';
import { lazyPage } from './components/lazy.js';
import { FleetPage } from './pages/fleet.js';
import { LoginPage } from './pages/login.js';
import { navigate, onLinkClick, path } from './state/router.js';
import { isAdmin, session, signOut } from './state/session.js';
import { api } from './api/client.js';

const DevicePage = lazyPage<{ id: string }>(() => import('./pages/device.js'));
const AlertsPage = lazyPage<object>(() => import('./pages/alerts.js'));
const RulesPage = lazyPage<object>(() => import('./pages/rules.js'));
const EnrollmentPage = lazyPage<object>(() => import('./pages/enrollment.js'));
const UsersPage = lazyPage<object>(() => import('./pages/users.js'));
const FirmwarePage = lazyPage<object>(() => import('./pages/firmware.js'));
const RolloutsPage = lazyPage<object>(() => import('./pages/rollouts.js'));
const RolloutPage = lazyPage<{ id: string }>(() => import('./pages/rollouts.js').then((m) => ({ default: m.RolloutDetailPage })));

let returnTo: string | undefined;

const NAV: readonly { href: string; label: string; admin?: boolean }[] = [
  { href: '/', label: 'Fleet' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/rules', label: 'Rules' },
  { href: '/firmware', label: 'Firmware' },
  { href: '/rollouts', label: 'Rollouts' },
  { href: '/enrollment', label: 'Enrollment' },
  { href: '/users', label: 'Users & tokens', admin: true },
];

function Page({ at }: { at: string }) {
  const device = /^\/devices\/([^/]+)$/.exec(at);
  if (device?.[1] !== undefined) return <DevicePage id={decodeURIComponent(device[1])} />;
  const rollout = /^\/rollouts\/([^/]+)$/.exec(at);
  if (rollout?.[1] !== undefined) return <RolloutPage id={decodeURIComponent(rollout[1])} />;
  switch (at) {
    case '/':
      return <FleetPage />;
    case '/alerts':
      return <AlertsPage />;
    case '/rules':
      return <RulesPage />;
    case '/firmware':
      return <FirmwarePage />;
    case '/rollouts':
      return <RolloutsPage />;
    case '/enrollment':
      return <EnrollmentPage />;
    case '/users':
      return isAdmin.value ? <UsersPage /> : <p role="alert">Only admins manage users and API tokens.</p>;
    default:
      return (
        <p role="alert">
          No page here. <a href="/">Back to the fleet</a>
        </p>
      );
  }
}

export function App() {
  const current = session.value;
  const at = path.value;

  useEffect(() => {
    // Signed out on a page: back to it after signing in (a shared link, a reload after expiry).
    if (current === undefined && at !== '/login') {
      returnTo = location.pathname + location.search;
      navigate('/login', true);
    }
    if (current !== undefined && at === '/login') {
      navigate(returnTo ?? '/', true);
      returnTo = undefined;
    }
  }, [current, at]);

  if (current === undefined) return <LoginPage />;

  const logout = async (): Promise<void> => {
    try {
      await api('POST', '/auth/logout');
    } finally {
      signOut('You signed out.');
    }
  };

  return (
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Outpost
        </a>
        <nav aria-label="Main">
          {NAV.filter((n) => n.admin !== true || isAdmin.value).map((n) => (
            <a href={n.href} aria-current={(n.href === '/' ? at === '/' || at.startsWith('/devices/') : at.startsWith(n.href)) ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="who">
          {current.username} <span class="role">({current.role})</span>
          <button type="button" class="link" onClick={() => void logout()}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page at={at} />
      </main>
    </div>
  );
}
