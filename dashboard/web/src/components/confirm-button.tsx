import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A button for an action that cannot be taken back: the first press asks, inline, and only
 * the second ("Yes, …") acts. Escape or Cancel steps back; focus moves to the question.
 */
export function ConfirmButton(props: { label: string; question: string; onConfirm: () => Promise<void>; danger?: boolean }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const yes = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (asking) yes.current?.focus();
  }, [asking]);
  if (!asking) {
    return (
      <button type="button" class={props.danger === true ? 'danger' : 'secondary'} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      await props.onConfirm();
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };
  return (
    <span role="group" aria-label={props.question} class="row" onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}>
      <span>{props.question}</span>
      <button ref={yes} type="button" class="danger" disabled={busy} onClick={() => void confirm()}>
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
