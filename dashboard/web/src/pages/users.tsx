export default function Page() {
  return <p>users</p>;
}
