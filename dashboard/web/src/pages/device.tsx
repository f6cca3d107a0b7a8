export default function Page() {
  return <p>device</p>;
}
