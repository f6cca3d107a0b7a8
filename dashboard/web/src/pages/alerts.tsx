export default function Page() {
  return <p>alerts</p>;
}
